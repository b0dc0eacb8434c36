// TaskChampion's sync protocol (protocol section 12) through the router,
// without sockets: the four endpoints, their exact headers, 404 versus 410,
// the snapshot rule, the origin parent (and its removal by history
// truncation, checked by verify), Basic credentials, and the same log seen
// through the native API. A store whose clock the tests move.
#include "support/gc_fixture.hpp"

#include "support/protocol.hpp"
#include "support/router_answers.hpp"

#include "api/router.hpp"
#include "api/routes.hpp"
#include "api/token_secret.hpp"
#include "storage/rocksdb/keys.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>

using namespace chunklog;
using api::http_method;
using chunklog::test::make_id;
using chunklog::test::text;
using namespace std::chrono_literals;

namespace {

constexpr auto segment_type = "application/vnd.taskchampion.history-segment";
constexpr auto snapshot_type = "application/vnd.taskchampion.snapshot";

struct tc_fixture : test::gc_fixture {
    api::metrics counters;
    api::service_options service;
    std::unique_ptr<api::router> routes;
    std::string client = user.to_string();

    tc_fixture() {
        options.history_retention = 24h;
        options.snapshot_after = 3;
        options.snapshot_age = 0ms;
        service.limits.max_chunk_bytes = 1024;
        restart();
    }

    void restart() {
        routes.reset();
        reopen();
        routes = std::make_unique<api::router>(*store, service, counters);
    }
    // check_invariants (which reopens the store) with a router on the new store.
    void verify_and_reopen() {
        routes.reset();
        check_invariants();
        routes = std::make_unique<api::router>(*store, service, counters);
    }

    // A request as TaskChampion sends it, decorated as the session does.
    api::response call(http_method m, const std::string& target, std::string body = {},
                       std::string content_type = {}) {
        api::request req;
        req.method = m;
        req.target = target;
        req.body = std::move(body);
        req.client_id = client;
        req.content_type = std::move(content_type);
        auto r = routes->handle(req);
        routes->decorate(r, req);
        return r;
    }
    api::response add_version(const uuid& parent, const std::string& bytes) {
        return call(http_method::post, "/v1/client/add-version/" + parent.to_string(), bytes, segment_type);
    }
    api::response child_of(const uuid& parent) {
        return call(http_method::get, "/v1/client/get-child-version/" + parent.to_string());
    }
    api::response add_snapshot(const uuid& version, const std::string& bytes) {
        return call(http_method::post, "/v1/client/add-snapshot/" + version.to_string(), bytes, snapshot_type);
    }
    api::response get_snapshot() { return call(http_method::get, "/v1/client/snapshot"); }
    // A GET of the native API (protocol section 2).
    api::response native_get(const std::string& rest) {
        api::request req;
        req.target = "/0.1/" + user.to_string() + rest;
        return routes->handle(req);
    }

    // Adds a version on HEAD and returns its id.
    uuid version(const uuid& parent, const std::string& bytes) {
        auto r = add_version(parent, bytes);
        REQUIRE(r.status == 200);
        auto id = uuid::parse(header(r, "X-Version-Id"));
        REQUIRE(id);
        return *id;
    }

    static std::string header(const api::response& r, const std::string& name) { return test::header_of(r, name); }
    static std::string code(const api::response& r) { return test::error_code_of(r); }
    static std::vector<boost::json::object> lines(const api::response& r) { return test::streamed_lines(r); }
};

}  // namespace

TEST_SUITE("taskchampion_router") {

TEST_CASE_FIXTURE(tc_fixture, "add-version and get-child-version follow the chain with exact headers") {
    auto empty = child_of(root_id);
    CHECK(empty.status == 404);  // no version yet: up to date
    CHECK(header(empty, "Cache-Control") == "no-store");
    CHECK(child_of(make_id(77)).status == 404);  // any parent of an empty user

    auto first = add_version(root_id, "v1");
    CHECK(first.status == 200);
    CHECK(first.body.empty());
    CHECK(first.content_type.empty());
    CHECK(header(first, "Cache-Control") == "no-store");
    CHECK(header(first, "X-Snapshot-Request").empty());
    auto v1 = *uuid::parse(header(first, "X-Version-Id"));
    auto v2 = version(v1, "v2");

    auto got = child_of(root_id);
    CHECK(got.status == 200);
    CHECK(got.content_type == segment_type);
    CHECK(got.body == "v1");
    CHECK(header(got, "X-Version-Id") == v1.to_string());
    CHECK(header(got, "X-Parent-Version-Id") == root_id.to_string());
    CHECK(header(got, "Cache-Control") == "no-store");
    got = child_of(v1);
    CHECK(got.body == "v2");
    CHECK(header(got, "X-Version-Id") == v2.to_string());
    CHECK(header(got, "X-Parent-Version-Id") == v1.to_string());
    CHECK(child_of(v2).status == 404);  // HEAD: up to date
    CHECK(call(http_method::head, "/v1/client/get-child-version/" + v1.to_string()).status == 200);

    auto stale = add_version(v1, "v2 from elsewhere");
    CHECK(stale.status == 409);
    CHECK(stale.body.empty());
    CHECK(header(stale, "X-Parent-Version-Id") == v2.to_string());
    CHECK(header(stale, "Cache-Control") == "no-store");
    CHECK(add_version(root_id, "another first").status == 409);
    CHECK(add_version(make_id(5), "unknown parent").status == 409);
    CHECK(store->head(user).value() == head_state{v2, 2});
}

TEST_CASE_FIXTURE(tc_fixture, "410 for an unknown, uncommitted or truncated parent, or a child that is not a version") {
    auto v1 = version(root_id, "v1");
    auto v2 = version(v1, "v2");
    CHECK(child_of(make_id(99)).status == 410);
    auto gone = child_of(make_id(99));
    CHECK(code(gone) == "history_truncated");
    CHECK(boost::json::parse(gone.body).at("snapshot").is_null());
    CHECK(header(gone, "Cache-Control") == "no-store");
    // A pending transaction of the native API is no version.
    transaction(make_id(50), v2, {chunk("pending")});
    CHECK(child_of(make_id(50)).status == 410);
    // A committed child of two chunks is not a version.
    transaction(make_id(51), v2, {chunk("a"), chunk("b")});
    REQUIRE(store->advance_head(user, make_id(51)));
    CHECK(child_of(v2).status == 410);
    CHECK(child_of(make_id(51)).status == 404);
    CHECK(add_version(make_id(51), "v4").status == 200);
}

TEST_CASE_FIXTURE(tc_fixture, "bad requests are 400 bad_request, a large body 413, wrong methods 405") {
    auto v1 = version(root_id, "v1");
    auto target = "/v1/client/add-version/" + v1.to_string();
    client.clear();
    auto missing = call(http_method::post, target, "v2", segment_type);
    CHECK(missing.status == 400);
    CHECK(code(missing) == "bad_request");
    CHECK(header(missing, "Cache-Control") == "no-store");
    CHECK(get_snapshot().status == 400);
    CHECK(child_of(v1).status == 400);
    client = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    CHECK(code(call(http_method::post, target, "v2", segment_type)) == "bad_request");
    client = user.to_string();

    CHECK(code(call(http_method::post, target, "v2")) == "bad_request");
    CHECK(code(call(http_method::post, target, "v2", "application/octet-stream")) == "bad_request");
    CHECK(code(call(http_method::post, target, "v2", snapshot_type)) == "bad_request");
    CHECK(code(call(http_method::post, target, "", segment_type)) == "bad_request");
    CHECK(code(call(http_method::post, "/v1/client/add-version/nope", "v2", segment_type)) == "invalid_id");
    auto big = call(http_method::post, target, std::string(1025, 'x'), segment_type);
    CHECK(big.status == 413);
    CHECK(code(big) == "payload_too_large");
    CHECK(code(call(http_method::post, "/v1/client/add-snapshot/" + v1.to_string(), "s", segment_type)) ==
          "bad_request");
    CHECK(code(call(http_method::post, "/v1/client/add-snapshot/" + v1.to_string(), "", snapshot_type)) ==
          "bad_request");
    // Parameters and case of the media type do not matter.
    CHECK(call(http_method::post, target, "v2", "Application/VND.taskchampion.history-segment; x=1").status == 200);

    auto wrong = call(http_method::get, target);
    CHECK(wrong.status == 405);
    CHECK(header(wrong, "Allow") == "POST");
    CHECK(header(wrong, "Cache-Control") == "no-store");
    CHECK(call(http_method::post, "/v1/client/snapshot", "s", snapshot_type).status == 405);
    CHECK(call(http_method::get, "/v1/client/add-version").status == 404);
    CHECK(call(http_method::get, "/v1/client/snapshot/x").status == 404);
    CHECK(store->head(user).value().seq == 2);  // nothing refused was stored
}

TEST_CASE_FIXTURE(tc_fixture, "snapshots follow TaskChampion's rule and are asked for by X-Snapshot-Request") {
    std::vector<uuid> v{root_id};
    for (int i = 1; i <= 6; ++i) {
        auto r = add_version(v.back(), "v" + std::to_string(i));
        REQUIRE(r.status == 200);
        // snapshot_after 3: low from 3 versions, high from 4.5.
        CHECK(header(r, "X-Snapshot-Request") == (i >= 5 ? "urgency=high" : i >= 3 ? "urgency=low" : ""));
        v.push_back(*uuid::parse(header(r, "X-Version-Id")));
    }
    CHECK(get_snapshot().status == 404);
    // v1 is 5 behind HEAD: ignored, still 200 and empty.
    auto ignored = add_snapshot(v[1], "state 1");
    CHECK(ignored.status == 200);
    CHECK(ignored.body.empty());
    CHECK(header(ignored, "Cache-Control") == "no-store");
    CHECK(get_snapshot().status == 404);
    CHECK(add_snapshot(root_id, "nil").status == 200);
    CHECK(add_snapshot(make_id(99), "unknown").status == 200);
    CHECK(get_snapshot().status == 404);
    CHECK_FALSE(has_chunk("state 1"));  // an ignored snapshot stores nothing

    CHECK(add_snapshot(v[2], "state 2").status == 200);  // 4 behind: kept
    auto got = get_snapshot();
    CHECK(got.status == 200);
    CHECK(got.content_type == snapshot_type);
    CHECK(got.body == "state 2");
    CHECK(header(got, "X-Version-Id") == v[2].to_string());
    CHECK(header(got, "Cache-Control") == "no-store");
    CHECK(add_snapshot(v[2], "state 2 again").status == 200);  // not later: ignored
    CHECK(get_snapshot().body == "state 2");
    CHECK(add_snapshot(v[6], "state 6").status == 200);
    CHECK(get_snapshot().body == "state 6");
    CHECK(add_snapshot(v[5], "state 5").status == 200);  // older than the one in force
    CHECK(get_snapshot().body == "state 6");
    auto r = add_version(v[6], "v7");
    CHECK(header(r, "X-Snapshot-Request").empty());
    // The native API sees the same snapshot.
    auto native = native_get("/snapshot");
    CHECK(text(boost::json::parse(native.body).at("transaction")) == v[6].to_string());
    // A snapshot of several chunks is no TaskChampion snapshot.
    REQUIRE(store->put_snapshot(user, *uuid::parse(header(r, "X-Version-Id")), std::vector{chunk("x"), chunk("y")}));
    CHECK(get_snapshot().status == 404);
    verify_and_reopen();
}

TEST_CASE_FIXTURE(tc_fixture, "the first version remembers its origin parent until history truncation removes it") {
    auto origin = make_id(0x0123);
    auto v1 = version(origin, "sealed with origin");
    auto v2 = version(v1, "v2");
    auto got = child_of(origin);
    CHECK(got.status == 200);
    CHECK(got.body == "sealed with origin");
    CHECK(header(got, "X-Version-Id") == v1.to_string());
    CHECK(header(got, "X-Parent-Version-Id") == origin.to_string());
    CHECK(child_of(root_id).status == 410);  // sealed with the origin, not nil
    CHECK(child_of(v1).body == "v2");

    auto t = boost::json::parse(native_get("/transactions/" + v1.to_string()).body);
    CHECK(text(t.at("parent")) == root_id.to_string());
    CHECK(text(t.at("origin_parent")) == origin.to_string());
    t = boost::json::parse(native_get("/transactions/" + v2.to_string()).body);
    CHECK_FALSE(t.as_object().contains("origin_parent"));
    auto log = lines(native_get("/log"));
    REQUIRE(log.size() == 5);  // chunk, transaction, chunk, transaction, end
    CHECK(text(log[1].at("transaction").at("id")) == v1.to_string());
    CHECK(text(log[1].at("transaction").at("origin_parent")) == origin.to_string());
    CHECK(log[1].at("transaction").at("chunks").as_array().size() == 1);
    CHECK_FALSE(log[3].at("transaction").as_object().contains("origin_parent"));
    verify_and_reopen();

    // Truncation removes v1 and its origin record with it.
    auto v3 = version(v2, "v3");
    CHECK(add_snapshot(v3, "state 3").status == 200);
    pass_time(25h);
    CHECK(collect().truncated == 2);
    CHECK(child_of(origin).status == 410);
    CHECK(child_of(root_id).status == 410);
    CHECK(child_of(v2).status == 410);
    CHECK(child_of(v3).status == 404);
    CHECK_FALSE(store->origin_parent(user, v1).value());
    verify_and_reopen();

    // A record left by a GC pass of a server from before the record existed
    // is stale: verify accepts it and readers ignore it.
    store.reset();
    {
        test::raw_db db(options.dir);
        db.put(db.meta(), storage::keys::origin(user), storage::keys::encode_origin({origin, v1}));
    }
    CHECK(test::check_store(options.dir).empty());
    restart();
    CHECK(child_of(origin).status == 410);
    CHECK_FALSE(store->origin_parent(user, v1).value());
}

TEST_CASE_FIXTURE(tc_fixture, "a first version with a nil parent has no origin, and DELETE removes the origin record") {
    auto v1 = version(root_id, "v1");
    CHECK_FALSE(store->origin_parent(user, v1).value());
    REQUIRE(store->delete_user(user));
    auto origin = make_id(0x0456);
    auto w1 = version(origin, "again");
    CHECK(child_of(origin).status == 200);
    REQUIRE(store->delete_user(user));
    CHECK(child_of(origin).status == 404);  // no version: up to date
    auto x1 = version(root_id, "fresh");
    CHECK(child_of(origin).status == 410);
    CHECK(child_of(root_id).body == "fresh");
    CHECK_FALSE(store->origin_parent(user, x1).value());
    CHECK_FALSE(store->origin_parent(user, w1).value());
    verify_and_reopen();
}

TEST_CASE_FIXTURE(tc_fixture, "both protocols see one log") {
    auto v1 = version(root_id, "tc version");
    // A native one-chunk transaction on HEAD is a version for TaskChampion.
    transaction(make_id(2), v1, {chunk("native")});
    REQUIRE(store->advance_head(user, make_id(2)));
    auto got = child_of(v1);
    CHECK(got.body == "native");
    CHECK(header(got, "X-Version-Id") == make_id(2).to_string());
    CHECK(add_version(v1, "late").status == 409);
    auto v3 = version(make_id(2), "tc again");
    auto log = lines(native_get("/log"));
    REQUIRE(log.size() == 7);
    CHECK(text(log[0].at("chunk").at("data")) == base64_encode("tc version"));
    CHECK(text(log[5].at("transaction").at("id")) == v3.to_string());
    CHECK(text(log[5].at("transaction").at("parent")) == make_id(2).to_string());
    CHECK(text(log[6].at("end").at("head")) == v3.to_string());
}

TEST_CASE_FIXTURE(tc_fixture, "verify checks the origin parent record") {
    auto v1 = version(make_id(0x0789), "v1");
    version(v1, "v2");
    store.reset();
    {
        test::raw_db db(options.dir);
        db.put(db.meta(), storage::keys::origin(user), storage::keys::encode_origin({make_id(0x0789), make_id(3)}));
    }
    auto problems = test::check_store(options.dir);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("origin parent record") != std::string::npos);
    {
        test::raw_db db(options.dir);
        db.put(db.meta(), storage::keys::origin(user), "short");
    }
    problems = test::check_store(options.dir);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("unreadable metadata record with tag 'O'") != std::string::npos);
    reopen();
}

TEST_CASE("TaskChampion's paths are routed, percent-encoded or not") {
    using api::match_route;
    using api::route_kind;
    auto m = match_route("/v1/client/add-version/0f8fad5b-d9cb-469f-a165-70867728950e");
    CHECK(m.kind == route_kind::tc_add_version);
    CHECK(m.id == "0f8fad5b-d9cb-469f-a165-70867728950e");
    CHECK(!m.user);
    CHECK(match_route("/v1/client/get-child-version/x").kind == route_kind::tc_get_child_version);
    CHECK(match_route("/v1/client/get%2Dchild-version/x").kind == route_kind::tc_get_child_version);
    CHECK(match_route("/v1/client/add-snapshot/x").kind == route_kind::tc_add_snapshot);
    CHECK(match_route("/v1/client/snapshot").kind == route_kind::tc_get_snapshot);
    CHECK(match_route("/v1/client/snapshot?x=1").kind == route_kind::tc_get_snapshot);
    CHECK(match_route("/v1/client/snapshot/").kind == route_kind::unmatched);
    CHECK(match_route("/v1/client/add-version").kind == route_kind::unmatched);
    CHECK(match_route("/v1/client").kind == route_kind::unmatched);
    CHECK(match_route("/v1/other/snapshot").kind == route_kind::unmatched);
    CHECK(api::route_name(route_kind::tc_get_snapshot) == "tc_get_snapshot");
}

TEST_CASE("basic_password takes the password of Basic credentials and ignores the user name") {
    CHECK(api::basic_password("Basic " + base64_encode("me:clt_secret-1")) == "clt_secret-1");
    CHECK(api::basic_password("basic  " + base64_encode(":tok")) == "tok");
    CHECK(api::basic_password("Basic " + base64_encode("a:b:c")) == "b:c");
    CHECK_FALSE(api::basic_password("Basic " + base64_encode("no colon")));
    CHECK_FALSE(api::basic_password("Basic " + base64_encode("me:")));
    CHECK_FALSE(api::basic_password("Basic " + base64_encode("me:has space")));
    CHECK_FALSE(api::basic_password("Basic not base64!"));
    CHECK_FALSE(api::basic_password("Bearer " + base64_encode("me:tok")));
    CHECK_FALSE(api::basic_password(""));
}

}  // TEST_SUITE
