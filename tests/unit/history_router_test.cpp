// Snapshots, garbage collection and history truncation through the router
// (protocol sections 8, 9 and 11's POST /admin/gc), without sockets, on a
// store whose clock the tests move.
#include "support/gc_fixture.hpp"

#include "support/protocol.hpp"
#include "support/router_answers.hpp"

#include "api/router.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>

using namespace chunklog;
using api::http_method;
using chunklog::test::make_id;
using chunklog::test::text;
using namespace std::chrono_literals;

namespace {

struct history_router_fixture : test::gc_fixture {
    api::metrics counters;
    api::service_options service;
    std::unique_ptr<api::router> routes;
    std::string base = "/0.1/" + user.to_string();

    history_router_fixture() {
        options.history_retention = 24h;
        options.snapshot_after = 3;
        options.snapshot_age = 7 * 24h;
        restart();
    }

    void restart() {
        routes.reset();
        reopen();
        routes = std::make_unique<api::router>(*store, service, counters);
    }

    api::response call(http_method m, const std::string& target, std::string body = {}) {
        api::request r;
        r.method = m;
        r.target = target;
        r.body = std::move(body);
        return routes->handle(std::move(r));
    }
    static boost::json::object json(const api::response& r) { return test::json_of(r); }
    static std::string code(const api::response& r) { return test::error_code_of(r); }
    static std::string header(const api::response& r, const std::string& name) { return test::header_of(r, name); }
    static std::vector<boost::json::object> lines(const api::response& r) { return test::streamed_lines(r); }

    std::string put_chunk(const std::string& bytes) {
        auto id = sha256_of(bytes).to_string();
        auto r = call(http_method::put, base + "/chunks/" + id, bytes);
        REQUIRE(r.status / 100 == 2);
        return id;
    }
    // A publish of one transaction with one new chunk on `parent`, made HEAD.
    api::response publish(unsigned id, const uuid& parent) {
        auto bytes = "op " + std::to_string(id);
        boost::json::object body{
            {"chunks", boost::json::array{{{"id", sha256_of(bytes).to_string()}, {"data", base64_encode(bytes)}}}},
            {"transactions", boost::json::array{{{"id", make_id(id).to_string()},
                                                 {"parent", parent.to_string()},
                                                 {"chunks", boost::json::array{sha256_of(bytes).to_string()}}}}},
            {"head", make_id(id).to_string()}};
        return call(http_method::post, base + "/publish", boost::json::serialize(body));
    }
    std::string snapshot_body(const std::vector<std::string>& chunks) {
        boost::json::array ids;
        for (const auto& c : chunks) ids.emplace_back(c);
        return boost::json::serialize(boost::json::object{{"chunks", ids}});
    }
};

}  // namespace

TEST_SUITE("history_router") {

TEST_CASE_FIXTURE(history_router_fixture, "PUT snapshots/{id} and GET snapshot") {
    CHECK(publish(1, root_id).status == 200);
    CHECK(publish(2, make_id(1)).status == 200);
    auto none = call(http_method::get, base + "/snapshot");
    CHECK(none.status == 404);
    CHECK(code(none) == "not_found");
    auto state = put_chunk("state at 2");

    CHECK(code(call(http_method::put, base + "/snapshots/not-a-uuid", snapshot_body({state}))) == "invalid_id");
    CHECK(code(call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), "{")) == "bad_request");
    CHECK(code(call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), "{}")) == "bad_request");
    CHECK(code(call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), R"({"chunks":["xyz"]})")) ==
          "invalid_id");
    auto unknown = call(http_method::put, base + "/snapshots/" + make_id(99).to_string(), snapshot_body({state}));
    CHECK(unknown.status == 404);
    CHECK(code(unknown) == "not_found");
    CHECK(call(http_method::put, base + "/snapshots/" + root_id.to_string(), snapshot_body({state})).status == 404);
    auto absent = sha256_of("absent").to_string();
    auto missing = call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), snapshot_body({state, absent}));
    CHECK(missing.status == 404);
    CHECK(code(missing) == "missing_chunks");
    CHECK(json(missing).at("missing").as_array() == boost::json::array{absent});

    auto made = call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), snapshot_body({state}));
    CHECK(made.status == 201);
    CHECK(text(json(made).at("transaction")) == make_id(2).to_string());
    CHECK(json(made).at("seq").to_number<int>() == 2);
    auto again = call(http_method::put, base + "/snapshots/" + make_id(1).to_string(), snapshot_body({state}));
    CHECK(again.status == 200);
    CHECK(text(json(again).at("transaction")) == make_id(2).to_string());

    auto got = call(http_method::get, base + "/snapshot");
    CHECK(got.status == 200);
    auto o = json(got);
    CHECK(text(o.at("transaction")) == make_id(2).to_string());
    CHECK(o.at("seq").to_number<int>() == 2);
    CHECK(o.at("chunks").as_array() == boost::json::array{state});
    CHECK(text(o.at("created")) == "2023-11-14T22:13:20Z");  // the fixture's clock
    CHECK(call(http_method::head, base + "/snapshot").status == 200);

    auto wrong = call(http_method::get, base + "/snapshots/" + make_id(2).to_string());
    CHECK(wrong.status == 405);
    CHECK(header(wrong, "Allow") == "PUT");
    CHECK(call(http_method::put, base + "/snapshot", "{}").status == 405);
    CHECK(call(http_method::get, base + "/snapshots").status == 404);
}

TEST_CASE_FIXTURE(history_router_fixture, "the summary and the Snapshot-Urgency header") {
    auto s = json(call(http_method::get, base));
    CHECK(s.at("snapshot").is_null());
    CHECK(text(s.at("snapshot_urgency")) == "none");
    CHECK(s.at("history_from").to_number<int>() == 0);

    auto r = publish(1, root_id);
    CHECK(header(r, "Snapshot-Urgency").empty());
    CHECK(publish(2, make_id(1)).status == 200);
    r = publish(3, make_id(2));
    CHECK(header(r, "Snapshot-Urgency") == "low");  // 3 transactions, no snapshot
    CHECK(text(json(call(http_method::get, base)).at("snapshot_urgency")) == "low");
    // PUT head too, also when HEAD is already there.
    auto t4 = boost::json::serialize(boost::json::object{{"parent", make_id(3).to_string()}, {"chunks", boost::json::array{}}});
    CHECK(call(http_method::put, base + "/transactions/" + make_id(4).to_string(), t4).status == 201);
    auto head4 = boost::json::serialize(boost::json::object{{"head", make_id(4).to_string()}});
    auto advanced = call(http_method::put, base + "/head", head4);
    CHECK(advanced.status == 204);
    CHECK(header(advanced, "Snapshot-Urgency") == "low");  // 4 < 4.5
    auto same = call(http_method::put, base + "/head", head4);
    CHECK(same.status == 204);
    CHECK(header(same, "Snapshot-Urgency") == "low");
    r = publish(5, make_id(4));
    CHECK(header(r, "Snapshot-Urgency") == "high");  // 5 >= 1.5 x 3
    auto state = put_chunk("state at 5");
    CHECK(call(http_method::put, base + "/snapshots/" + make_id(5).to_string(), snapshot_body({state})).status == 201);
    s = json(call(http_method::get, base));
    CHECK(text(s.at("snapshot_urgency")) == "none");
    CHECK(text(s.at("snapshot").at("transaction")) == make_id(5).to_string());
    CHECK(s.at("snapshot").at("seq").to_number<int>() == 5);
    r = publish(6, make_id(5));
    CHECK(r.status == 200);
    CHECK(header(r, "Snapshot-Urgency").empty());
    pass_time(7 * 24h);
    r = publish(7, make_id(6));
    CHECK(header(r, "Snapshot-Urgency") == "low");  // 7 days since the snapshot
    // Errors carry no urgency.
    auto conflict = publish(8, make_id(5));
    CHECK(conflict.status == 409);
    CHECK(header(conflict, "Snapshot-Urgency").empty());
}

TEST_CASE_FIXTURE(history_router_fixture, "GET log?snapshot=1 starts with the snapshot") {
    for (unsigned i = 1; i <= 4; ++i) REQUIRE(publish(i, i == 1 ? root_id : make_id(i - 1)).status == 200);
    auto state = put_chunk("state at 2");
    auto op3 = sha256_of("op 3").to_string();
    REQUIRE(call(http_method::put, base + "/snapshots/" + make_id(2).to_string(), snapshot_body({state, op3})).status ==
            201);

    auto page = lines(call(http_method::get, base + "/log?snapshot=1"));
    REQUIRE(page.size() == 7);
    CHECK(text(page[0].at("chunk").at("id")) == state);
    CHECK(text(page[0].at("chunk").at("data")) == base64_encode("state at 2"));
    CHECK(text(page[1].at("chunk").at("id")) == op3);
    CHECK(text(page[2].at("snapshot").at("transaction")) == make_id(2).to_string());
    CHECK(page[2].at("snapshot").at("seq").to_number<int>() == 2);
    CHECK(page[2].at("snapshot").at("chunks").as_array() == boost::json::array{state, op3});
    CHECK(text(page[3].at("transaction").at("id")) == make_id(3).to_string());  // its chunk went with the snapshot
    CHECK(text(page[4].at("chunk").at("id")) == sha256_of("op 4").to_string());
    CHECK(text(page[5].at("transaction").at("id")) == make_id(4).to_string());
    CHECK(text(page[6].at("end").at("last")) == make_id(4).to_string());
    CHECK(page[6].at("end").at("more").as_bool() == false);

    auto bare = lines(call(http_method::get, base + "/log?snapshot=1&chunks=0&limit=0"));
    REQUIRE(bare.size() == 2);  // the snapshot does not count toward the limit
    CHECK(bare[0].contains("snapshot"));
    CHECK(text(bare[1].at("end").at("last")) == make_id(2).to_string());
    CHECK(bare[1].at("end").at("more").as_bool() == true);

    auto one = lines(call(http_method::get, base + "/log?snapshot=1&chunks=0&limit=1&from=" + make_id(1).to_string()));
    REQUIRE(one.size() == 3);
    CHECK(one[0].contains("snapshot"));
    CHECK(text(one[1].at("transaction").at("id")) == make_id(3).to_string());

    // From the snapshot's seq or later, and without the flag: no snapshot line.
    auto later = lines(call(http_method::get, base + "/log?snapshot=1&chunks=0&from=" + make_id(2).to_string()));
    REQUIRE(later.size() == 3);
    CHECK(later[0].contains("transaction"));
    CHECK(lines(call(http_method::get, base + "/log?chunks=0")).size() == 5);
    CHECK(lines(call(http_method::get, base + "/log?snapshot=0&chunks=0")).size() == 5);
    CHECK(code(call(http_method::get, base + "/log?snapshot=yes")) == "bad_request");

    // A snapshot at HEAD: a page with the snapshot only, ending at it.
    auto state4 = put_chunk("state at 4");
    REQUIRE(call(http_method::put, base + "/snapshots/" + make_id(4).to_string(), snapshot_body({state4})).status == 201);
    auto only = lines(call(http_method::get, base + "/log?snapshot=1"));
    REQUIRE(only.size() == 3);
    CHECK(only[1].contains("snapshot"));
    CHECK(text(only[2].at("end").at("last")) == make_id(4).to_string());
    CHECK(only[2].at("end").at("more").as_bool() == false);
}

TEST_CASE_FIXTURE(history_router_fixture, "after truncation: 410 with the snapshot, and snapshot=1 starts from it") {
    for (unsigned i = 1; i <= 5; ++i) REQUIRE(publish(i, i == 1 ? root_id : make_id(i - 1)).status == 200);
    auto state = put_chunk("state at 3");
    REQUIRE(call(http_method::put, base + "/snapshots/" + make_id(3).to_string(), snapshot_body({state})).status == 201);
    pass_time(25h);
    auto gc = call(http_method::post, "/admin/gc");
    CHECK(gc.status == 200);
    auto removed = json(gc);
    CHECK(removed.at("transactions").to_number<int>() == 2);
    CHECK(removed.at("chunks").to_number<int>() == 2);
    CHECK(removed.at("bytes").to_number<int>() == 8);  // "op 1", "op 2"

    auto s = json(call(http_method::get, base));
    CHECK(s.at("history_from").to_number<int>() == 2);
    CHECK(s.at("transactions").to_number<int>() == 3);
    CHECK(s.at("seq").to_number<int>() == 5);
    CHECK(s.at("chunks").to_number<int>() == 4);  // op 3..5 and the state

    for (const auto& target : {base + "/transactions", base + "/transactions?from=" + make_id(1).to_string(),
                               base + "/log", base + "/log?from=" + make_id(2).to_string()}) {
        auto r = call(http_method::get, target);
        CHECK(r.status == 410);
        CHECK(code(r) == "history_truncated");
        CHECK(text(json(r).at("snapshot").at("transaction")) == make_id(3).to_string());
        CHECK(json(r).at("snapshot").at("seq").to_number<int>() == 3);
    }
    CHECK(code(call(http_method::get, base + "/transactions/" + make_id(1).to_string())) == "not_found");
    auto listing = json(call(http_method::get, base + "/transactions?from=" + make_id(3).to_string()));
    CHECK(listing.at("transactions").as_array().size() == 2);

    auto page = lines(call(http_method::get, base + "/log?snapshot=1&from=" + make_id(1).to_string()));
    REQUIRE(page.size() == 7);  // state, snapshot, (op 4, 4), (op 5, 5), end
    CHECK(page[1].contains("snapshot"));
    CHECK(text(page[6].at("end").at("last")) == make_id(5).to_string());
    CHECK(lines(call(http_method::get, base + "/log?snapshot=1&chunks=0")).size() == 4);
}

TEST_CASE_FIXTURE(history_router_fixture, "POST /admin/gc answers what it removed, /metrics and /limits show it") {
    CHECK(publish(1, root_id).status == 200);
    put_chunk("loose one");
    put_chunk("loose two");
    auto tx = boost::json::serialize(boost::json::object{{"parent", root_id.to_string()}, {"chunks", boost::json::array{}}});
    CHECK(call(http_method::put, base + "/transactions/" + make_id(9).to_string(), tx).status == 201);  // dead
    auto early = json(call(http_method::post, "/admin/gc"));
    CHECK(early.at("transactions").to_number<int>() == 0);
    pass_time(2h);
    auto r = call(http_method::post, "/admin/gc", "ignored");
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    auto o = json(r);
    CHECK(o.at("transactions").to_number<int>() == 1);
    CHECK(o.at("chunks").to_number<int>() == 2);
    CHECK(o.at("bytes").to_number<int>() == 18);
    CHECK(call(http_method::put, base + "/transactions/" + make_id(9).to_string(), tx).status == 201);
    CHECK(call(http_method::get, "/admin/gc").status == 405);

    auto metrics = call(http_method::get, "/metrics").body;
    CHECK(metrics.find("chunklog_gc_passes_total 2\n") != std::string::npos);
    CHECK(metrics.find("chunklog_gc_transactions_removed_total 1\n") != std::string::npos);
    CHECK(metrics.find("chunklog_gc_chunks_removed_total 2\n") != std::string::npos);
    CHECK(metrics.find("chunklog_gc_bytes_freed_total 18\n") != std::string::npos);
    CHECK(metrics.find("chunklog_gc_examined_total") != std::string::npos);
    CHECK(metrics.find("chunklog_gc_last_pass_seconds") != std::string::npos);

    auto limits = json(call(http_method::get, "/limits"));
    CHECK(limits.at("gc_grace_seconds").to_number<int>() == 3600);
    CHECK(limits.at("history_retention_seconds").to_number<int>() == 86400);
}

TEST_CASE_FIXTURE(history_router_fixture, "the new paths need tokens: /admin/gc the admin's, snapshots the user's") {
    service.access.admin_token_hash = sha256_of("admin-secret");
    restart();
    storage::token_record reader;
    reader.id = "reader";
    reader.user = user;
    reader.scope = storage::token_scope::read;
    REQUIRE(store->create_token(sha256_of("read-secret"), reader, false));
    storage::token_record writer = reader;
    writer.id = "writer";
    writer.scope = storage::token_scope::write;
    REQUIRE(store->create_token(sha256_of("write-secret"), writer, false));

    auto admit = [&](http_method m, const std::string& target, const std::string& token) -> unsigned {
        api::request req;
        req.method = m;
        req.target = target;
        if (!token.empty()) req.authorization = "Bearer " + token;
        auto refused = routes->admit(req, api::match_route(target));
        return refused ? refused->status : 0;
    };
    CHECK(admit(http_method::post, "/admin/gc", "") == 401);
    CHECK(admit(http_method::post, "/admin/gc", "write-secret") == 403);
    CHECK(admit(http_method::post, "/admin/gc", "admin-secret") == 0);
    auto put = base + "/snapshots/" + make_id(1).to_string();
    CHECK(admit(http_method::put, put, "") == 401);
    CHECK(admit(http_method::put, put, "read-secret") == 403);
    CHECK(admit(http_method::put, put, "write-secret") == 0);
    CHECK(admit(http_method::get, base + "/snapshot", "") == 401);
    CHECK(admit(http_method::get, base + "/snapshot", "read-secret") == 0);
    CHECK(admit(http_method::get, "/0.1/" + make_id(5).to_string() + "/snapshot", "read-secret") == 403);
}

}  // TEST_SUITE
