// Builds the socket-free requests that router-level tests hand to
// router::handle. Pure functions.
#pragma once

#include "api/http_types.hpp"

#include <optional>
#include <string>

namespace chunklog::test {

inline api::request make_request(api::http_method method, std::string target, std::string body = {},
                                 std::optional<digest> body_sha256 = std::nullopt) {
    api::request req;
    req.method = method;
    req.target = std::move(target);
    req.body = std::move(body);
    req.body_sha256 = body_sha256;
    return req;
}

}  // namespace chunklog::test
