// match_route against a reference matcher built on Boost.URL alone.
//
// api/routes.cpp splits plain targets by hand (is_plain_target,
// split_plain_path, split_plain_query) and hands everything else to
// Boost.URL. This target routes every input through both and aborts when
// they disagree: where Boost.URL parses the target as origin-form, the kind
// must match, and for a matched route also the user, the id and the query
// pairs (the router answers 404 for an unmatched route without looking at
// the rest); where it does not parse, the target must be unmatched.
#include "api/routes.hpp"

#include <boost/url/parse.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using chunklog::api::route_kind;
using chunklog::api::route_match;

// The protocol's route table, written as patterns over decoded segments:
// "{user}" and "{id}" match any one segment, anything else itself. The first
// pattern that matches wins (chunks/missing before chunks/{id}).
struct route_pattern {
    std::vector<std::string_view> segments;
    route_kind kind;
};

const std::vector<route_pattern>& route_table() {
    static const std::vector<route_pattern> table{
        {{}, route_kind::server_info},
        {{""}, route_kind::server_info},
        {{"healthz"}, route_kind::healthz},
        {{"limits"}, route_kind::limits},
        {{"metrics"}, route_kind::metrics},
        {{"0.1", "{user}"}, route_kind::user},
        {{"0.1", "{user}", ""}, route_kind::user},
        {{"0.1", "{user}", "head"}, route_kind::head},
        {{"0.1", "{user}", "transactions"}, route_kind::transactions},
        {{"0.1", "{user}", "publish"}, route_kind::publish},
        {{"0.1", "{user}", "log"}, route_kind::log},
        {{"0.1", "{user}", "chunks", "missing"}, route_kind::chunks_missing},
        {{"0.1", "{user}", "transactions", "{id}"}, route_kind::transaction},
        {{"0.1", "{user}", "chunks", "{id}"}, route_kind::chunk},
        {{"0.1", "{user}", "tokens"}, route_kind::tokens},
        {{"0.1", "{user}", "tokens", "{id}"}, route_kind::token},
        {{"0.1", "{user}", "quota"}, route_kind::quota},
        {{"0.1", "{user}", "snapshot"}, route_kind::snapshot},
        {{"0.1", "{user}", "snapshots", "{id}"}, route_kind::snapshots},
        {{"admin", "users"}, route_kind::admin_users},
        {{"admin", "gc"}, route_kind::admin_gc},
        {{"v1", "client", "snapshot"}, route_kind::tc_get_snapshot},
        {{"v1", "client", "add-version", "{id}"}, route_kind::tc_add_version},
        {{"v1", "client", "get-child-version", "{id}"}, route_kind::tc_get_child_version},
        {{"v1", "client", "add-snapshot", "{id}"}, route_kind::tc_add_snapshot},
    };
    return table;
}

route_match reference_match(const boost::urls::url_view& url) {
    route_match m;
    std::vector<std::string> segments;
    for (auto segment : url.segments()) segments.emplace_back(segment);
    for (const auto& pattern : route_table()) {
        if (pattern.segments.size() != segments.size()) continue;
        route_match candidate;
        bool matches = true;
        for (std::size_t i = 0; matches && i < segments.size(); ++i) {
            if (pattern.segments[i] == "{user}") candidate.user = chunklog::uuid::parse(segments[i]);
            else if (pattern.segments[i] == "{id}") candidate.id = segments[i];
            else matches = pattern.segments[i] == segments[i];
        }
        if (!matches) continue;
        candidate.kind = pattern.kind;
        if (segments.size() == 4) candidate.id = segments[3];  // match_route reports "missing" as the id too
        for (auto param : url.params()) candidate.query.emplace_back(param.key, param.has_value ? param.value : "");
        return candidate;
    }
    return m;
}

std::string describe(const route_match& m) {
    std::string out = std::string(chunklog::api::route_name(m.kind));
    if (m.kind == route_kind::unmatched) return out;
    out += " user=" + (m.user ? m.user->to_string() : std::string("(none)")) + " id=\"" + m.id + "\" query=[";
    for (const auto& [key, value] : m.query) out += "(\"" + key + "\",\"" + value + "\")";
    return out + "]";
}

bool same_route(const route_match& a, const route_match& b) {
    if (a.kind != b.kind) return false;
    if (a.kind == route_kind::unmatched) return true;
    return a.user == b.user && a.id == b.id && a.query == b.query;
}

[[noreturn]] void mismatch(std::string_view target, const route_match& got, const std::string& expected) {
    std::fprintf(stderr, "routes_fuzz: match_route disagrees with Boost.URL\n  target:    \"%.*s\"\n"
                         "  match_route: %s\n  Boost.URL:   %s\n",
                 static_cast<int>(target.size()), target.data(), describe(got).c_str(), expected.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view target(reinterpret_cast<const char*>(data), size);
    auto got = chunklog::api::match_route(target);
    auto url = boost::urls::parse_origin_form(target);
    if (!url) {
        if (got.kind != route_kind::unmatched) mismatch(target, got, "does not parse (" + url.error().message() + ")");
        return 0;
    }
    auto expected = reference_match(*url);
    if (!same_route(got, expected)) mismatch(target, got, describe(expected));
    return 0;
}
