// The route table: which paths exist, which methods each allows, and the
// parsed pieces of a target (user, id, query). Internal to the HTTP layer.
// Pure values; thread-safe.
#pragma once

#include "api/http_types.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chunklog::api {

struct route_match {
    route_kind kind = route_kind::unmatched;
    // The {user} segment of /0.1/{user}/..., parsed once here since every
    // step of a request needs it; nullopt when absent or not a canonical UUID.
    std::optional<uuid> user;
    std::string id;    // raw path segment, not yet validated
    std::vector<std::pair<std::string, std::string>> query;

    // The first value of a query parameter; nullopt when absent.
    std::optional<std::string_view> param(std::string_view name) const;
};

// Parses the origin-form target; unmatched for unknown or malformed paths.
route_match match_route(std::string_view target);

std::string_view route_name(route_kind kind);
// The routes of TaskChampion's sync protocol (protocol section 12).
bool is_taskchampion_route(route_kind kind);
bool method_allowed(route_kind kind, http_method method);
std::string allow_header(route_kind kind);

}  // namespace chunklog::api
