// End-to-end: tokens, the admin token, the failed-authentication limiter,
// registration and CORS (protocol section 7) against the real chunklogd.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <fstream>

using namespace chunklog::test;

namespace {

header_list bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
const header_list no_token{{"Authorization", ""}};

struct issued_token {
    std::string id;
    std::string secret;
};

// A token of `user` issued with `as` (the admin token, or a write token of the user).
issued_token issue(http_connection& conn, const std::string& user, const std::string& as,
                   const std::string& body = "{}") {
    auto r = conn.request("POST", "/0.1/" + user + "/tokens", body, bearer(as));
    REQUIRE(r.status == 201);
    auto v = parse_json(r.body);
    return {text(v.at("id")), text(v.at("token"))};
}

// A server that checks tokens, its admin token, and one user with a write
// and a read token.
struct auth_server {
    temp_dir dir;
    server_process server;
    std::string admin;
    http_connection conn;
    std::string user = random_uuid();
    issued_token writer, reader;

    explicit auth_server(std::vector<std::string> args = {})
        : server(dir.path() / "db", std::move(args)), admin(server.admin_token()), conn(server.port()) {
        REQUIRE(!admin.empty());
        writer = issue(conn, user, admin, R"({"label":"laptop"})");
        reader = issue(conn, user, admin, R"({"label":"phone","scope":"read"})");
    }
    auth_server(const auth_server&) = delete;

    std::string path(const std::string& rest = "") const { return "/0.1/" + user + rest; }
    http_reply call(const std::string& method, const std::string& target, const header_list& headers,
                    const std::string& body = {}) {
        return conn.request(method, target, body, headers);
    }
};

bool is_unauthorized(const http_reply& r) {
    return r.status == 401 && error_code(r) == "unauthorized" && r.header("www-authenticate") == "Bearer realm=\"chunklog\"";
}

// Past the access checks (the route itself may still answer 404).
bool admitted(const http_reply& r) { return r.status != 401 && r.status != 403 && r.status != 429 && r.status < 500; }

// Every user route, with a body valid enough to pass parsing.
struct route_call {
    std::string method, rest, body;
    bool writes;
};
std::vector<route_call> user_routes() {
    auto chunk = sha256_hex("x");
    return {{"GET", "", "", false},
            {"GET", "/head", "", false},
            {"GET", "/transactions", "", false},
            {"GET", "/log", "", false},
            {"GET", "/chunks/" + chunk, "", false},
            {"POST", "/chunks/missing", R"({"chunks":[]})", false},
            {"PUT", "/chunks/" + chunk, "x", true},
            {"PUT", "/transactions/" + random_uuid(), R"({"parent":")" + root_id_text + R"(","chunks":[]})", true},
            {"PUT", "/head", R"({"head":")" + root_id_text + R"("})", true},
            {"POST", "/publish", R"({"chunks":[],"transactions":[]})", true},
            {"DELETE", "", "", true}};
}

}  // namespace

TEST_SUITE("e2e_auth") {

TEST_CASE("every user route refuses a missing, malformed, unknown or other user's token") {
    auth_server s({"--auth-failure-limit", "1000"});
    auto other = random_uuid();
    auto other_token = issue(s.conn, other, s.admin);
    for (const auto& route : user_routes()) {
        CAPTURE(route.method + " " + route.rest);
        CHECK(is_unauthorized(s.call(route.method, s.path(route.rest), no_token, route.body)));
        CHECK(is_unauthorized(s.call(route.method, s.path(route.rest), {{"Authorization", "Basic abc"}}, route.body)));
        CHECK(is_unauthorized(s.call(route.method, s.path(route.rest), bearer("clt_not-a-token"), route.body)));
        auto foreign = s.call(route.method, s.path(route.rest), bearer(other_token.secret), route.body);
        CHECK(foreign.status == 403);
        CHECK(error_code(foreign) == "forbidden");
        auto own = s.call(route.method, s.path(route.rest), bearer(s.writer.secret), route.body);
        CHECK(admitted(own));
        auto read = s.call(route.method, s.path(route.rest), bearer(s.reader.secret), route.body);
        if (route.writes) CHECK(read.status == 403);
        else CHECK(admitted(read));
    }
}

TEST_CASE("an invalid user id is 400 before any token is looked at") {
    auth_server s;
    auto r = s.call("GET", "/0.1/not-a-uuid/head", no_token);
    CHECK(r.status == 400);
    CHECK(error_code(r) == "invalid_id");
}

TEST_CASE("service paths need no token, metrics and admin paths need the admin token") {
    auth_server s;
    for (auto path : {"/", "/healthz", "/limits"}) CHECK(s.call("GET", path, no_token).status == 200);
    for (auto path : {"/metrics", "/admin/users"}) {
        CAPTURE(path);
        CHECK(is_unauthorized(s.call("GET", path, no_token)));
        CHECK(s.call("GET", path, bearer(s.writer.secret)).status == 403);
        CHECK(s.call("GET", path, bearer(s.admin)).status == 200);
    }
    auto quota = s.call("PUT", s.path("/quota"), bearer(s.writer.secret), R"({"bytes":10})");
    CHECK(quota.status == 403);
}

TEST_CASE("a revoked token is refused on a keep-alive connection that already used it") {
    auth_server s;
    http_connection device(s.server.port());
    REQUIRE(device.request("GET", s.path("/head"), {}, bearer(s.reader.secret)).status == 200);
    CHECK(s.call("DELETE", s.path("/tokens/" + s.reader.id), bearer(s.writer.secret)).status == 204);
    CHECK(is_unauthorized(device.request("GET", s.path("/head"), {}, bearer(s.reader.secret))));
    CHECK(s.call("DELETE", s.path("/tokens/" + s.reader.id), bearer(s.writer.secret)).status == 404);
    // A token may revoke itself, even a read-only one.
    auto phone = issue(s.conn, s.user, s.admin, R"({"scope":"read"})");
    CHECK(s.call("DELETE", s.path("/tokens/" + phone.id), bearer(phone.secret)).status == 204);
    CHECK(is_unauthorized(s.call("GET", s.path("/head"), bearer(phone.secret))));
}

TEST_CASE("an expired token is refused") {
    auth_server s;
    auto brief = issue(s.conn, s.user, s.writer.secret, R"({"expires_in":1})");
    auto listed = parse_json(s.call("GET", s.path("/tokens"), bearer(s.writer.secret)).body);
    bool has_expiry = false;
    for (const auto& t : listed.at("tokens").as_array())
        if (text(t.at("id")) == brief.id) has_expiry = t.at("expires").is_string();
    CHECK(has_expiry);
    CHECK(wait_until([&] { return is_unauthorized(s.call("GET", s.path("/head"), bearer(brief.secret))); },
                     std::chrono::seconds(5)));
}

TEST_CASE("token management: creation order, no secrets listed, bad bodies, read tokens may not manage") {
    auth_server s;
    auto listed = parse_json(s.call("GET", s.path("/tokens"), bearer(s.writer.secret)).body);
    auto tokens = listed.at("tokens").as_array();
    REQUIRE(tokens.size() == 2);
    CHECK(text(tokens[0].at("id")) == s.writer.id);
    CHECK(text(tokens[0].at("label")) == "laptop");
    CHECK(text(tokens[0].at("scope")) == "write");
    CHECK(tokens[0].at("expires").is_null());
    CHECK(text(tokens[1].at("scope")) == "read");
    CHECK(listed.as_object().size() == 1);
    CHECK(s.call("GET", s.path("/tokens"), bearer(s.writer.secret)).body.find(s.writer.secret) == std::string::npos);
    CHECK(tokens[0].as_object().if_contains("token") == nullptr);
    CHECK(s.call("GET", s.path("/tokens"), bearer(s.reader.secret)).status == 403);
    CHECK(s.call("POST", s.path("/tokens"), bearer(s.reader.secret), "{}").status == 403);
    for (auto body : {R"({"scope":"admin"})", R"({"label":5})", R"({"expires_in":0})", R"({"expires_in":"1"})",
                      "[1]", "{"}) {
        CAPTURE(body);
        CHECK(s.call("POST", s.path("/tokens"), bearer(s.writer.secret), body).status == 400);
    }
    CHECK(s.call("POST", s.path("/tokens"), bearer(s.writer.secret), "{\"label\":\"" + std::string(101, 'a') + "\"}")
              .status == 400);
    auto made = parse_json(s.call("POST", s.path("/tokens"), bearer(s.writer.secret)).body);
    auto secret = text(made.at("token"));
    CHECK(secret.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    CHECK(text(made.at("created")).size() == 20);
}

TEST_CASE("the body of a request with a bad token is never read") {
    auth_server s;
    auto raw = raw_exchange(s.server.port(), "PUT " + s.path("/chunks/" + sha256_hex("big")) +
                                                 " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                                                 "Content-Length: 1073741824\r\n\r\n");
    CHECK(first_status(raw) == 401);
    CHECK(s.call("GET", "/healthz", no_token).status == 200);
}

TEST_CASE("failed authentication is limited per address, and a valid token never is") {
    auth_server s({"--auth-failure-limit", "3"});
    for (int i = 0; i < 3; ++i) CHECK(is_unauthorized(s.call("GET", s.path("/head"), bearer("wrong"))));
    auto limited = s.call("GET", s.path("/head"), bearer("wrong"));
    CHECK(limited.status == 429);
    CHECK(error_code(limited) == "too_many_requests");
    auto wait = std::stoi(limited.header("retry-after"));
    CHECK(wait >= 1);
    CHECK(wait <= 60);
    CHECK(s.call("GET", "/admin/users", no_token).status == 429);
    CHECK(s.call("GET", s.path("/head"), bearer(s.reader.secret)).status == 200);
    CHECK(s.call("GET", "/metrics", bearer(s.admin)).status == 200);
    CHECK(metric(s.conn, "chunklog_auth_failures_total") == 3);
    CHECK(metric(s.conn, "chunklog_rate_limited_total") == 2);
}

TEST_CASE("closed registration: claiming a user needs a token") {
    auth_server s;
    auto fresh = random_uuid();
    CHECK(is_unauthorized(s.call("POST", "/0.1/" + fresh + "/tokens", no_token, "{}")));
}

TEST_CASE("open registration: the first token claims a user id, later ones need a token") {
    auth_server s({"--registration", "open"});
    auto fresh = random_uuid();
    auto claimed = s.call("POST", "/0.1/" + fresh + "/tokens", no_token, R"({"label":"first"})");
    REQUIRE(claimed.status == 201);
    auto secret = text(parse_json(claimed.body).at("token"));
    CHECK(s.call("GET", "/0.1/" + fresh + "/head", bearer(secret)).status == 200);
    CHECK(is_unauthorized(s.call("POST", "/0.1/" + fresh + "/tokens", no_token, "{}")));
    CHECK(is_unauthorized(s.call("POST", s.path("/tokens"), no_token, "{}")));  // has tokens already
    CHECK(s.call("POST", "/0.1/" + fresh + "/tokens", bearer(secret), "{}").status == 201);
}

TEST_CASE("DELETE of a user keeps its tokens and its quota") {
    auth_server s;
    REQUIRE(s.call("PUT", s.path("/quota"), bearer(s.admin), R"({"bytes":1000})").status == 204);
    REQUIRE(s.call("PUT", s.path("/chunks/" + sha256_hex("abc")), bearer(s.writer.secret), "abc").status == 201);
    REQUIRE(s.call("DELETE", s.path(), bearer(s.writer.secret)).status == 204);
    auto summary = s.call("GET", s.path(), bearer(s.writer.secret));
    REQUIRE(summary.status == 200);
    CHECK(parse_json(summary.body).at("bytes").to_number<int>() == 0);
    CHECK(parse_json(summary.body).at("quota_bytes").to_number<int>() == 1000);
}

TEST_CASE("the admin lists users by id, with counts and quotas, page by page") {
    auth_server s({"--quota-bytes", "5000"});
    std::vector<std::string> users{s.user};
    for (int i = 0; i < 4; ++i) {
        users.push_back(random_uuid());
        auto t = issue(s.conn, users.back(), s.admin);
        REQUIRE(s.call("PUT", "/0.1/" + users.back() + "/chunks/" + sha256_hex("hi"), bearer(t.secret), "hi").status ==
                201);
    }
    auto unlimited = users[1];
    REQUIRE(s.call("PUT", "/0.1/" + unlimited + "/quota", bearer(s.admin), R"({"bytes":0})").status == 204);
    std::sort(users.begin(), users.end());
    std::vector<std::string> seen;
    std::string after;
    for (;;) {
        auto page = s.call("GET", "/admin/users?limit=2" + (after.empty() ? "" : "&after=" + after), bearer(s.admin));
        REQUIRE(page.status == 200);
        auto v = parse_json(page.body);
        for (const auto& u : v.at("users").as_array()) seen.push_back(text(u.at("user")));
        if (!v.at("more").as_bool()) break;
        after = seen.back();
    }
    CHECK(seen == users);
    auto all = parse_json(s.call("GET", "/admin/users", bearer(s.admin)).body).at("users").as_array();
    for (const auto& u : all) {
        auto id = text(u.at("user"));
        CHECK(u.at("quota_bytes").to_number<int>() == (id == unlimited ? 0 : 5000));
        if (id != s.user) CHECK(u.at("bytes").to_number<int>() == 2);
    }
    CHECK(s.call("GET", "/admin/users?after=nope", bearer(s.admin)).status == 400);
}

TEST_CASE("quotas: reaching the limit is fine, one byte past it is 507 and stores nothing") {
    auth_server s({"--quota-bytes", "10"});
    auto limits = parse_json(s.call("GET", "/limits", no_token).body);
    CHECK(limits.at("quota_bytes").to_number<int>() == 10);
    auto put = [&](const std::string& bytes) {
        return s.call("PUT", s.path("/chunks/" + sha256_hex(bytes)), bearer(s.writer.secret), bytes);
    };
    CHECK(put("123456").status == 201);
    auto over = put("abcde");
    CHECK(over.status == 507);
    CHECK(error_code(over) == "quota_exceeded");
    CHECK(put("abcd").status == 201);      // exactly 10
    CHECK(put("123456").status == 200);    // stored already: does not count again
    CHECK(put("z").status == 507);
    auto publish = s.call("POST", s.path("/publish"), bearer(s.writer.secret),
                          R"({"chunks":[{"id":")" + sha256_hex("q") + R"(","data":"cQ=="}],"transactions":[]})");
    CHECK(publish.status == 507);
    auto summary = parse_json(s.call("GET", s.path(), bearer(s.writer.secret)).body);
    CHECK(summary.at("bytes").to_number<int>() == 10);
    CHECK(summary.at("chunks").to_number<int>() == 2);
    CHECK(summary.at("quota_bytes").to_number<int>() == 10);
    // The admin raises this user's limit; null goes back to the default.
    REQUIRE(s.call("PUT", s.path("/quota"), bearer(s.admin), R"({"bytes":11})").status == 204);
    CHECK(put("z").status == 201);
    REQUIRE(s.call("PUT", s.path("/quota"), bearer(s.admin), R"({"bytes":null})").status == 204);
    CHECK(put("y").status == 507);
    CHECK(s.call("PUT", s.path("/quota"), bearer(s.admin), R"({"bytes":-1})").status == 400);
    CHECK(s.call("PUT", s.path("/quota"), bearer(s.admin), R"({})").status == 400);
}

TEST_CASE("quotas: a chunk that cannot fit is refused from Content-Length, its body unread") {
    auth_server s({"--quota-bytes", "100000"});
    auto raw = raw_exchange(s.server.port(), "PUT " + s.path("/chunks/" + sha256_hex("big")) +
                                                 " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.writer.secret +
                                                 "\r\nContent-Length: 200000\r\n\r\n");
    CHECK(first_status(raw) == 507);
    CHECK(raw.find("quota_exceeded") != std::string::npos);
}

TEST_CASE("CORS: allowed origins get the headers, on errors too, and preflights need no token") {
    auth_server s({"--cors-origin", "https://app.example", "--cors-origin", "https://other.example"});
    header_list from_app{{"Origin", "https://app.example"}, {"Authorization", ""}};
    auto preflight = s.call("OPTIONS", s.path("/publish"),
                            {{"Origin", "https://app.example"}, {"Authorization", ""},
                             {"Access-Control-Request-Method", "POST"},
                             {"Access-Control-Request-Headers", "authorization, content-type"}});
    CHECK(preflight.status == 204);
    CHECK(preflight.header("access-control-allow-origin") == "https://app.example");
    CHECK(preflight.header("access-control-allow-methods").find("POST") != std::string::npos);
    CHECK(preflight.header("access-control-allow-headers").find("Authorization") != std::string::npos);
    CHECK(!preflight.header("access-control-max-age").empty());
    auto refused = s.call("GET", s.path("/head"), from_app);
    CHECK(refused.status == 401);
    CHECK(refused.header("access-control-allow-origin") == "https://app.example");
    CHECK(refused.header("access-control-expose-headers").find("Retry-After") != std::string::npos);
    auto ok = s.call("GET", s.path("/chunks/" + sha256_hex("none")),
                     {{"Origin", "https://other.example"}, {"Authorization", "Bearer " + s.writer.secret}});
    CHECK(ok.status == 404);
    CHECK(ok.header("access-control-allow-origin") == "https://other.example");
    CHECK(ok.header("access-control-expose-headers").find("ETag") != std::string::npos);
    auto foreign = s.call("GET", s.path("/head"), {{"Origin", "https://evil.example"}, {"Authorization", ""}});
    CHECK(foreign.header("access-control-allow-origin").empty());
}

TEST_CASE("CORS with * allows any origin, without the option nothing is added") {
    auth_server any({"--cors-origin", "*"});
    auto r = any.call("GET", "/healthz", {{"Origin", "https://x.example"}});
    CHECK(r.header("access-control-allow-origin") == "*");
    auth_server none;
    CHECK(none.call("GET", "/healthz", {{"Origin", "https://x.example"}}).header("access-control-allow-origin").empty());
}

TEST_CASE("--auth none: user paths are open, admin paths still need the admin token") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none"});
    http_connection conn(server.port());
    auto user = random_uuid();
    CHECK(conn.request("PUT", "/0.1/" + user + "/chunks/" + sha256_hex("a"), "a").status == 201);
    CHECK(conn.request("GET", "/metrics").status == 200);
    CHECK(is_unauthorized(conn.request("GET", "/admin/users")));
    CHECK(conn.request("GET", "/admin/users", {}, bearer(server.admin_token())).status == 200);
    CHECK(is_unauthorized(conn.request("PUT", "/0.1/" + user + "/quota", R"({"bytes":1})")));
}

TEST_CASE("the admin token file: created once with mode 0600, or read from --admin-token-file") {
    temp_dir dir;
    std::string first;
    {
        server_process server(dir.path() / "db");
        first = server.admin_token();
        CHECK(first.size() >= 40);
        auto mode = std::filesystem::status(dir.path() / "db" / "admin-token").permissions();
        CHECK((mode & std::filesystem::perms::all) == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        CHECK(server.log().find(first) == std::string::npos);
    }
    server_process again(dir.path() / "db");
    CHECK(again.admin_token() == first);

    auto file = dir.path() / "shared-admin-token";
    { std::ofstream(file) << "my-admin-secret-0123456789\n"; }
    server_process named(dir.path() / "db2", {"--admin-token-file", file.string()});
    CHECK(http_call(named.port(), "GET", "/admin/users", {}, bearer("my-admin-secret-0123456789")).status == 200);
}

}  // TEST_SUITE
