// The one mapping from chunklog errors to HTTP: status codes and the JSON
// error body of the protocol ({"error", "message"} plus "head" for conflicts
// and "missing" for missing chunks). Pure functions; thread-safe.
#pragma once

#include "api/http_types.hpp"

#include <chunklog/errors.hpp>

namespace chunklog::api {

unsigned http_status(errc code) noexcept;

response error_response(const error& e);
response error_response(errc code, std::string message);

}  // namespace chunklog::api
