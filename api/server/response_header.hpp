// Writes the status line and header fields of an answer as HTTP/1.x text.
// The session sends this text and the body as one gather write, which costs
// far fewer instructions per request than Beast's generic serializer.
// Pure function; thread-safe.
#pragma once

#include "api/http_types.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace chunklog::api {

struct header_framing {
    unsigned version = 11;  // 10 or 11, as in the request
    bool keep_alive = true;
    std::uint64_t request_id = 0;
    std::optional<std::size_t> content_length;  // none: no Content-Length field
    bool chunked = false;                       // Transfer-Encoding: chunked
};

// Every field of `r` (status, Content-Type, extra headers) plus Server,
// X-Request-Id and the connection and framing fields; ends with the empty line.
std::string response_header(const response& r, const header_framing& framing);

}  // namespace chunklog::api
