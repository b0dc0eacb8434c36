// End-to-end: TaskChampion's sync protocol (protocol section 12) against the
// real chunklogd, driven request by request as the TaskChampion client
// sends it (../shared/reference/taskchampion.md section 1.4): the sync
// sequence with a 409 then reaching HEAD by get-child-version, racing
// replicas, the snapshot rule, the origin parent, Basic and Bearer tokens,
// refusals, and the same log read through the native API.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/ids.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace chunklog::test;

namespace {

const std::string segment_type = "application/vnd.taskchampion.history-segment";
const std::string snapshot_type = "application/vnd.taskchampion.snapshot";

// One TaskChampion replica's requests: X-Client-Id on each, Content-Type on
// the POSTs, and `auth` (an Authorization header, or none) as configured.
class tc_client {
public:
    tc_client(std::uint16_t port, std::string client_id, std::string authorization = "")
        : conn_(port), client_id_(std::move(client_id)), authorization_(std::move(authorization)) {}

    http_reply add_version(const std::string& parent, const std::string& bytes) {
        return call("POST", "/v1/client/add-version/" + parent, bytes, segment_type);
    }
    http_reply get_child_version(const std::string& parent) {
        return call("GET", "/v1/client/get-child-version/" + parent);
    }
    http_reply add_snapshot(const std::string& version, const std::string& bytes) {
        return call("POST", "/v1/client/add-snapshot/" + version, bytes, snapshot_type);
    }
    http_reply get_snapshot() { return call("GET", "/v1/client/snapshot"); }

    // The pull loop of one sync: get-child-version from `base` until 404;
    // the versions met, in order (a non-200, non-404 answer ends it with a
    // failed check).
    std::vector<std::string> pull(std::string base, std::vector<std::string>* bodies = nullptr) {
        std::vector<std::string> met;
        for (;;) {
            auto r = get_child_version(base);
            if (r.status == 404) return met;
            REQUIRE(r.status == 200);
            CHECK(r.header("x-parent-version-id") == base);
            base = r.header("x-version-id");
            met.push_back(base);
            if (bodies != nullptr) bodies->push_back(r.body);
        }
    }

    http_reply call(const std::string& method, const std::string& target, const std::string& body = {},
                    const std::string& content_type = {}) {
        header_list headers{{"X-Client-Id", client_id_}, {"Authorization", authorization_}};
        if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
        return conn_.request(method, target, body, headers);
    }

private:
    http_connection conn_;
    std::string client_id_;
    std::string authorization_;
};

std::string basic(const std::string& user_name, const std::string& password) {
    return "Basic " + chunklog::base64_encode(user_name + ":" + password);
}

// Every answer of these paths is uncached and not content-encoded.
void check_plain(const http_reply& r) {
    CHECK(r.header("cache-control") == "no-store");
    CHECK(r.header("content-encoding").empty());
}

}  // namespace

TEST_SUITE("e2e_taskchampion") {

TEST_CASE("two replicas sync as TaskChampion does: a 409 names HEAD and the next pull reaches it") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none"});
    auto user = random_uuid();
    tc_client a(server.port(), user), b(server.port(), user);

    // Replica A's first sync: empty DB, so the snapshot first; nothing to pull.
    auto none = a.get_snapshot();
    CHECK(none.status == 404);
    check_plain(none);
    CHECK(a.pull(root_id_text).empty());
    auto added = a.add_version(root_id_text, "segment 1");
    CHECK(added.status == 200);
    CHECK(added.body.empty());
    check_plain(added);
    auto v1 = added.header("x-version-id");
    CHECK(chunklog::uuid::parse(v1));

    // Replica B starts empty too: no snapshot, pulls v1, adds v2.
    CHECK(b.get_snapshot().status == 404);
    std::vector<std::string> bodies;
    CHECK(b.pull(root_id_text, &bodies) == std::vector{v1});
    CHECK(bodies == std::vector<std::string>{"segment 1"});
    auto got = b.get_child_version(root_id_text);
    CHECK(got.header("content-type") == segment_type);
    check_plain(got);
    auto v2 = b.add_version(v1, "segment 2").header("x-version-id");

    // A, still based on v1, is refused with HEAD named; its next pull reaches it.
    auto refused = a.add_version(v1, "segment 2 of A");
    CHECK(refused.status == 409);
    CHECK(refused.header("x-parent-version-id") == v2);
    CHECK(refused.body.empty());
    check_plain(refused);
    CHECK(a.pull(v1) == std::vector{v2});
    auto v3 = a.add_version(v2, "segment 2 of A, rebased");
    CHECK(v3.status == 200);
    CHECK(b.pull(v2) == std::vector{v3.header("x-version-id")});

    // The native API sees the same log: one-chunk transactions on ROOT.
    http_connection conn(server.port());
    user_api api(conn, user);
    auto lines = api.log_lines("");
    REQUIRE(lines.size() == 7);
    CHECK(text(lines[0].at("chunk").at("data")) == chunklog::base64_encode("segment 1"));
    CHECK(text(lines[1].at("transaction").at("id")) == v1);
    CHECK(text(lines[1].at("transaction").at("parent")) == root_id_text);
    CHECK(lines[1].at("transaction").at("chunks").as_array().size() == 1);
    CHECK(text(lines[3].at("transaction").at("parent")) == v1);
    CHECK(text(lines[5].at("transaction").at("id")) == v3.header("x-version-id"));
    CHECK(text(lines[6].at("end").at("head")) == v3.header("x-version-id"));
    // And what the native API publishes is the next version.
    auto native = random_uuid();
    REQUIRE(api.publish_one(native, v3.header("x-version-id"), "native segment").status == 200);
    auto next = a.get_child_version(v3.header("x-version-id"));
    CHECK(next.body == "native segment");
    CHECK(next.header("x-version-id") == native);
}

TEST_CASE("racing add-version: exactly one wins per parent, a loser reaches the HEAD it was told, no 5xx") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none"});
    auto user = random_uuid();
    constexpr int replicas = 8;
    constexpr int versions_each = 6;

    std::mutex mutex;
    std::map<std::string, std::string> won;  // parent -> version
    std::atomic<int> server_errors{0}, conflicts{0}, unreached{0};
    std::vector<std::thread> threads;
    for (int r = 0; r < replicas; ++r) {
        threads.emplace_back([&, r] {
            tc_client c(server.port(), user);
            std::string base = root_id_text;
            for (int added = 0; added < versions_each;) {
                auto reply = c.add_version(base, "replica " + std::to_string(r) + " version " + std::to_string(added));
                if (reply.status >= 500) ++server_errors;
                if (reply.status == 200) {
                    std::lock_guard lock(mutex);
                    if (!won.emplace(base, reply.header("x-version-id")).second) ++server_errors;  // two on one parent
                    base = reply.header("x-version-id");
                    ++added;
                    continue;
                }
                if (reply.status != 409) {
                    ++server_errors;
                    return;
                }
                ++conflicts;
                auto told = reply.header("x-parent-version-id");
                // The pull from base reaches what the 409 named (or beyond).
                bool reached = false;
                for (;;) {
                    auto child = c.get_child_version(base);
                    if (child.status >= 500) ++server_errors;
                    if (child.status != 200) break;
                    base = child.header("x-version-id");
                    reached = reached || base == told;
                }
                if (!reached) ++unreached;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(server_errors == 0);
    CHECK(unreached == 0);
    CHECK(won.size() == replicas * versions_each);
    MESSAGE("conflicts: " << conflicts.load());
    // The chain from nil is exactly the winners, parent by parent.
    tc_client reader(server.port(), user);
    auto chain = reader.pull(root_id_text);
    REQUIRE(chain.size() == won.size());
    std::string parent = root_id_text;
    for (const auto& id : chain) {
        CHECK(won.at(parent) == id);
        parent = id;
    }
}

TEST_CASE("snapshots: asked for by X-Snapshot-Request, kept only near HEAD, and where a new replica starts") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none", "--snapshot-after", "2"});
    auto user = random_uuid();
    tc_client a(server.port(), user);
    std::vector<std::string> v{root_id_text};
    for (int i = 1; i <= 7; ++i) {
        auto r = a.add_version(v.back(), "segment " + std::to_string(i));
        REQUIRE(r.status == 200);
        CHECK(r.header("x-snapshot-request") == (i >= 3 ? "urgency=high" : i >= 2 ? "urgency=low" : ""));
        v.push_back(r.header("x-version-id"));
    }
    auto ignored = a.add_snapshot(v[2], "state at 2");  // 5 behind HEAD
    CHECK(ignored.status == 200);
    check_plain(ignored);
    CHECK(a.get_snapshot().status == 404);
    CHECK(a.add_snapshot(v[3], "state at 3").status == 200);  // 4 behind: kept
    auto s = a.get_snapshot();
    CHECK(s.status == 200);
    CHECK(s.body == "state at 3");
    CHECK(s.header("content-type") == snapshot_type);
    CHECK(s.header("x-version-id") == v[3]);
    check_plain(s);
    CHECK(a.add_snapshot(v[7], "state at 7").status == 200);
    CHECK(a.add_snapshot(v[6], "state at 6").status == 200);  // older than the one in force: ignored
    auto latest = a.get_snapshot();
    CHECK(latest.body == "state at 7");
    CHECK(a.add_version(v[7], "segment 8").header("x-snapshot-request").empty());

    // A new replica starts from the snapshot and pulls what follows it.
    tc_client fresh(server.port(), user);
    auto start = fresh.get_snapshot();
    REQUIRE(start.status == 200);
    CHECK(fresh.pull(start.header("x-version-id")).size() == 1);
    // The native API sees the same snapshot.
    http_connection conn(server.port());
    user_api api(conn, user);
    CHECK(text(parse_json(api.get("/snapshot").body).at("transaction")) == v[7]);
}

TEST_CASE("a replica moving from another server keeps its chain of ids: the origin parent") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none"});
    auto user = random_uuid();
    auto origin = random_uuid();
    tc_client moved(server.port(), user);
    CHECK(moved.pull(origin).empty());  // no version yet: 404 whatever the parent
    auto first = moved.add_version(origin, "sealed with the origin parent");
    REQUIRE(first.status == 200);
    auto v1 = first.header("x-version-id");
    auto got = moved.get_child_version(origin);
    CHECK(got.status == 200);
    CHECK(got.header("x-parent-version-id") == origin);
    CHECK(got.header("x-version-id") == v1);
    CHECK(got.body == "sealed with the origin parent");
    auto from_nil = moved.get_child_version(root_id_text);
    CHECK(from_nil.status == 410);
    CHECK(error_code(from_nil) == "history_truncated");
    check_plain(from_nil);

    http_connection conn(server.port());
    user_api api(conn, user);
    auto t = parse_json(api.get("/transactions/" + v1).body);
    CHECK(text(t.at("parent")) == root_id_text);
    CHECK(text(t.at("origin_parent")) == origin);
    auto lines = api.log_lines("");
    CHECK(text(lines.at(1).at("transaction").at("origin_parent")) == origin);
    CHECK(moved.add_version(v1, "second").status == 200);
}

TEST_CASE("token mode: a user token as Basic password or Bearer, 401 with a Basic challenge, 403 for another user") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--max-chunk-bytes", "1024"});
    auto user = random_uuid();
    auto other = random_uuid();
    auto token = issue_token(server.port(), user);
    auto other_token = issue_token(server.port(), other);

    tc_client by_basic(server.port(), user, basic("me", token));
    auto v1 = by_basic.add_version(root_id_text, "one");
    CHECK(v1.status == 200);
    tc_client by_bearer(server.port(), user, "Bearer " + token);
    CHECK(by_bearer.pull(root_id_text) == std::vector{v1.header("x-version-id")});
    tc_client any_name(server.port(), user, basic("", token));
    CHECK(any_name.get_child_version(v1.header("x-version-id")).status == 404);

    for (const auto& auth : {std::string(), basic("me", "wrong"), std::string("Bearer wrong"), std::string("Basic !")}) {
        CAPTURE(auth);
        tc_client c(server.port(), user, auth);
        auto r = c.get_child_version(root_id_text);
        CHECK(r.status == 401);
        CHECK(error_code(r) == "unauthorized");
        CHECK(r.header("www-authenticate") == "Basic realm=\"chunklog\"");
        check_plain(r);
        CHECK(c.add_version(v1.header("x-version-id"), "refused").status == 401);
    }
    tc_client foreign(server.port(), user, basic("me", other_token));
    auto forbidden = foreign.get_snapshot();
    CHECK(forbidden.status == 403);
    CHECK(error_code(forbidden) == "forbidden");
    check_plain(forbidden);

    // 400 before authentication for a missing or malformed client id.
    tc_client nobody(server.port(), "", basic("me", token));
    auto missing = nobody.get_snapshot();
    CHECK(missing.status == 400);
    CHECK(error_code(missing) == "bad_request");
    tc_client malformed(server.port(), user.substr(0, 35) + "G", "");
    CHECK(malformed.get_snapshot().status == 400);
    // A body over max_chunk_bytes is refused from its Content-Length (and
    // the connection closed).
    tc_client sender(server.port(), user, basic("me", token));
    auto big = sender.add_version(v1.header("x-version-id"), std::string(2048, 'x'));
    CHECK(big.status == 413);
    CHECK(error_code(big) == "payload_too_large");
    check_plain(big);
    auto empty = by_basic.add_version(v1.header("x-version-id"), "");
    CHECK(empty.status == 400);
    CHECK(error_code(empty) == "bad_request");
    auto typed = by_basic.call("POST", "/v1/client/add-version/" + v1.header("x-version-id"), "x", "text/plain");
    CHECK(error_code(typed) == "bad_request");
    // Nothing refused was stored.
    CHECK(by_bearer.pull(v1.header("x-version-id")).empty());
}

TEST_CASE("quotas apply: a version past the user's quota is 507 and stores nothing") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--auth", "none", "--quota-bytes", "100"});
    auto user = random_uuid();
    tc_client c(server.port(), user);
    auto v1 = c.add_version(root_id_text, std::string(60, 'a'));
    REQUIRE(v1.status == 200);
    auto over = c.add_version(v1.header("x-version-id"), std::string(60, 'b'));
    CHECK(over.status == 507);
    CHECK(error_code(over) == "quota_exceeded");
    check_plain(over);
    CHECK(c.pull(v1.header("x-version-id")).empty());
    CHECK(c.add_snapshot(v1.header("x-version-id"), std::string(60, 's')).status == 507);
    CHECK(c.get_snapshot().status == 404);
}

}  // TEST_SUITE
