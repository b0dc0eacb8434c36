// Reading the api::response values a router test gets back: a header, the
// JSON body and its error code, and the NDJSON lines of a streamed body.
// Pure functions; thread-safe.
#pragma once

#include "api/http_types.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace chunklog::test {

inline std::string header_of(const api::response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return {};
}

inline boost::json::object json_of(const api::response& r) { return boost::json::parse(r.body).as_object(); }

inline std::string error_code_of(const api::response& r) { return std::string(json_of(r).at("error").as_string()); }

// Runs a streamed body to its end and parses each of its lines.
inline std::vector<boost::json::object> streamed_lines(const api::response& r) {
    std::string body;
    REQUIRE(r.stream);
    for (;;) {
        auto step = r.stream(body, true);
        REQUIRE(step != api::stream_step::failed);
        if (step == api::stream_step::done) break;
    }
    std::vector<boost::json::object> out;
    std::size_t start = 0;
    for (auto nl = body.find('\n'); nl != std::string::npos; start = nl + 1, nl = body.find('\n', start))
        out.push_back(boost::json::parse(body.substr(start, nl - start)).as_object());
    return out;
}

}  // namespace chunklog::test
