#include "api/routes.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cstdint>

namespace chunklog::api {
namespace {

using method_list = std::vector<http_method>;

const method_list& allowed_methods(route_kind kind) {
    static const method_list read_only{http_method::get, http_method::head};
    static const method_list user{http_method::get, http_method::head, http_method::delete_};
    static const method_list read_write{http_method::get, http_method::head, http_method::put};
    static const method_list post_only{http_method::post};
    static const method_list read_post{http_method::get, http_method::head, http_method::post};
    static const method_list delete_only{http_method::delete_};
    static const method_list put_only{http_method::put};
    static const method_list none{};
    switch (kind) {
    case route_kind::server_info:
    case route_kind::healthz:
    case route_kind::limits:
    case route_kind::metrics:
    case route_kind::transactions:
    case route_kind::admin_users:
    case route_kind::snapshot:
    case route_kind::log: return read_only;
    case route_kind::tokens: return read_post;
    case route_kind::token: return delete_only;
    case route_kind::quota:
    case route_kind::snapshots: return put_only;
    case route_kind::user: return user;
    case route_kind::head:
    case route_kind::transaction:
    case route_kind::chunk: return read_write;
    case route_kind::chunks_missing:
    case route_kind::admin_gc:
    case route_kind::tc_add_version:
    case route_kind::tc_add_snapshot:
    case route_kind::publish: return post_only;
    case route_kind::tc_get_child_version:
    case route_kind::tc_get_snapshot: return read_only;
    case route_kind::unmatched: break;
    }
    return none;
}

route_kind service_route(std::string_view segment) {
    if (segment.empty()) return route_kind::server_info;
    if (segment == "healthz") return route_kind::healthz;
    if (segment == "limits") return route_kind::limits;
    if (segment == "metrics") return route_kind::metrics;
    return route_kind::unmatched;
}

// At most /0.1/{user}/{a}/{b}: a longer path is no route.
constexpr std::size_t max_segments = 4;
using segment_list = std::array<std::string_view, max_segments>;

constexpr bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// Where a character may stand in a plain target, one table lookup per
// character of every request's target.
constexpr std::uint8_t in_plain_path = 1;   // unreserved or '/'
constexpr std::uint8_t in_plain_query = 2;  // unreserved, '=' or '&'
constexpr std::array<std::uint8_t, 256> plain_classes = [] {
    std::array<std::uint8_t, 256> classes{};
    for (int c = 0; c < 256; ++c)
        if (is_unreserved(static_cast<char>(c))) classes[c] = in_plain_path | in_plain_query;
    classes['/'] = in_plain_path;
    classes['='] = in_plain_query;
    classes['&'] = in_plain_query;
    return classes;
}();

bool all_in(std::string_view text, std::uint8_t char_class) {
    for (char c : text)
        if (!(plain_classes[static_cast<unsigned char>(c)] & char_class)) return false;
    return true;
}

// A target of unreserved characters, slashes and a simple query (`=`, `&`):
// the common case, split without a URL parser since nothing needs decoding.
bool is_plain_target(std::string_view target) {
    if (target.empty() || target.front() != '/') return false;
    // Boost.URL drops a leading "/./" (it only keeps a path from looking like
    // a scheme); let it handle that case rather than keep "." as a segment.
    if (target.starts_with("/./")) return false;
    auto query = target.find('?');
    if (!all_in(target.substr(0, query), in_plain_path)) return false;
    return query == std::string_view::npos || all_in(target.substr(query + 1), in_plain_query);
}

// Splits "/a/b" into its segments as a URL parser would ("/" has none, a
// trailing slash adds an empty one); false when there are too many.
bool split_plain_path(std::string_view path, segment_list& segments, std::size_t& n) {
    path.remove_prefix(1);
    if (path.empty()) return true;
    for (;;) {
        if (n == max_segments) return false;
        auto slash = path.find('/');
        segments[n++] = path.substr(0, slash);
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

// "a=1&b&c=" as a URL parser lists it: [("a","1"), ("b",""), ("c","")].
void split_plain_query(std::string_view query, std::vector<std::pair<std::string, std::string>>& out) {
    for (;;) {
        auto amp = query.find('&');
        auto param = query.substr(0, amp);
        auto eq = param.find('=');
        out.emplace_back(param.substr(0, eq), eq == std::string_view::npos ? "" : param.substr(eq + 1));
        if (amp == std::string_view::npos) return;
        query.remove_prefix(amp + 1);
    }
}

// Segments after /0.1/{user}: [], [""], ["head"], ["transactions"],
// ["transactions", id], ["chunks", sha256].
route_kind user_route(const std::string_view* rest, std::size_t n) {
    if (n == 0 || (n == 1 && rest[0].empty())) return route_kind::user;
    if (n == 1 && rest[0] == "head") return route_kind::head;
    if (n == 1 && rest[0] == "transactions") return route_kind::transactions;
    if (n == 1 && rest[0] == "publish") return route_kind::publish;
    if (n == 1 && rest[0] == "log") return route_kind::log;
    if (n == 1 && rest[0] == "tokens") return route_kind::tokens;
    if (n == 1 && rest[0] == "quota") return route_kind::quota;
    if (n == 1 && rest[0] == "snapshot") return route_kind::snapshot;
    if (n == 2 && rest[0] == "snapshots") return route_kind::snapshots;
    if (n == 2 && rest[0] == "tokens") return route_kind::token;
    if (n == 2 && rest[0] == "chunks" && rest[1] == "missing") return route_kind::chunks_missing;
    if (n == 2 && rest[0] == "transactions") return route_kind::transaction;
    if (n == 2 && rest[0] == "chunks") return route_kind::chunk;
    return route_kind::unmatched;
}

// Segments after /v1/client: ["snapshot"], ["add-version", id],
// ["get-child-version", id], ["add-snapshot", id].
route_kind taskchampion_route(const std::string_view* rest, std::size_t n) {
    if (n == 1 && rest[0] == "snapshot") return route_kind::tc_get_snapshot;
    if (n == 2 && rest[0] == "add-version") return route_kind::tc_add_version;
    if (n == 2 && rest[0] == "get-child-version") return route_kind::tc_get_child_version;
    if (n == 2 && rest[0] == "add-snapshot") return route_kind::tc_add_snapshot;
    return route_kind::unmatched;
}

}  // namespace

bool is_taskchampion_route(route_kind kind) {
    return kind == route_kind::tc_add_version || kind == route_kind::tc_get_child_version ||
           kind == route_kind::tc_add_snapshot || kind == route_kind::tc_get_snapshot;
}

std::optional<std::string_view> route_match::param(std::string_view name) const {
    for (const auto& [key, value] : query)
        if (key == name) return std::string_view(value);
    return std::nullopt;
}

route_match match_route(std::string_view target) {
    route_match m;
    segment_list segments;  // views of target, or of decoded
    std::array<std::string, max_segments> decoded;
    std::size_t n = 0;
    if (is_plain_target(target)) {
        auto query = target.find('?');
        if (!split_plain_path(target.substr(0, query), segments, n)) return m;
        if (query != std::string_view::npos) split_plain_query(target.substr(query + 1), m.query);
    } else {
        auto url = boost::urls::parse_origin_form(target);
        if (!url) return m;
        for (auto segment : url->segments()) {
            if (n == max_segments) return m;
            decoded[n] = segment;
            segments[n] = decoded[n];
            ++n;
        }
        for (auto param : url->params()) m.query.emplace_back(param.key, param.has_value ? param.value : "");
    }

    if (n <= 1) {
        m.kind = service_route(n == 0 ? "" : segments[0]);
        return m;
    }
    if (n == 2 && segments[0] == "admin") {
        if (segments[1] == "users") m.kind = route_kind::admin_users;
        if (segments[1] == "gc") m.kind = route_kind::admin_gc;
        return m;
    }
    if (segments[0] == "v1" && segments[1] == "client") {
        m.kind = taskchampion_route(segments.data() + 2, n - 2);
        if (n == 4) m.id = segments[3];
        return m;
    }
    if (segments[0] != "0.1") return m;
    m.user = uuid::parse(segments[1]);
    m.kind = user_route(segments.data() + 2, n - 2);
    if (n == 4) m.id = segments[3];
    return m;
}

std::string_view route_name(route_kind kind) {
    static constexpr std::array<std::string_view, route_kind_count> names{
        "unmatched",   "server_info", "healthz",        "limits",  "metrics", "user", "head", "transactions",
        "transaction", "chunk",       "chunks_missing", "publish", "log",     "tokens", "token", "quota",
        "admin_users", "snapshot",    "snapshots",      "admin_gc", "tc_add_version", "tc_get_child_version",
        "tc_add_snapshot", "tc_get_snapshot"};
    static_assert(!names.back().empty(), "route_name: one name per route_kind");
    return names[static_cast<std::size_t>(kind)];
}

std::string_view method_name(http_method m) {
    switch (m) {
    case http_method::get: return "GET";
    case http_method::head: return "HEAD";
    case http_method::put: return "PUT";
    case http_method::post: return "POST";
    case http_method::delete_: return "DELETE";
    case http_method::options: return "OPTIONS";
    case http_method::other: break;
    }
    return "OTHER";
}

bool method_allowed(route_kind kind, http_method method) {
    for (auto m : allowed_methods(kind))
        if (m == method) return true;
    return false;
}

std::string allow_header(route_kind kind) {
    std::string out;
    for (auto m : allowed_methods(kind)) {
        if (!out.empty()) out += ", ";
        out += method_name(m);
    }
    return out;
}

}  // namespace chunklog::api
