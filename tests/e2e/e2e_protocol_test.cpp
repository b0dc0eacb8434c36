// End-to-end: the real chunklogd over loopback. The cases of the original
// mentat-sync functional suite, then HTTP behaviour (keep-alive, pipelining,
// HEAD, Expect: 100-continue, chunked uploads).
#include "support/live_server.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace chunklog::test;

TEST_SUITE("e2e_protocol") {

TEST_CASE_FIXTURE(live_server, "a fresh user's head is ROOT") {
    auto r = api.get("/head");
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/json");
    auto v = parse_json(r.body);
    CHECK(text(v.at("head")) == root_id_text);
    CHECK(v.at("seq").to_number<int>() == 0);
    CHECK(api.list().empty());
}

TEST_CASE_FIXTURE(live_server, "two transactions commit together and are listed in order") {
    auto c1 = sha256_hex("one"), c2 = sha256_hex("two");
    CHECK(api.put_chunk("one").status == 201);
    CHECK(api.put_chunk("two").status == 201);
    auto t1 = random_uuid(), t2 = random_uuid();
    CHECK(api.put_transaction(t1, root_id_text, {c1}).status == 201);
    CHECK(api.put_transaction(t2, t1, {c2, c1}).status == 201);
    CHECK(api.advance(t2).status == 204);
    CHECK(api.head() == t2);
    CHECK(api.list() == std::vector{t1, t2});
    auto got = parse_json(api.get("/transactions/" + t2).body);
    CHECK(text(got.at("parent")) == t1);
    CHECK(got.at("seq").to_number<int>() == 2);
    CHECK(got.at("chunks").as_array().size() == 2);
    CHECK(api.get("/chunks/" + c2).body == "two");
}

TEST_CASE_FIXTURE(live_server, "HEAD can be advanced many times") {
    std::string parent = root_id_text;
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) {
        auto id = random_uuid();
        REQUIRE(api.put_transaction(id, parent, {}).status == 201);
        REQUIRE(api.advance(id).status == 204);
        ids.push_back(id);
        parent = id;
        CHECK(api.head() == id);
    }
    CHECK(api.list() == ids);
    CHECK(api.list(ids[4], 3) == std::vector(ids.begin() + 5, ids.begin() + 8));
}

TEST_CASE_FIXTURE(live_server, "conflicting heads are refused with 409 and the current HEAD") {
    auto a = random_uuid(), b = random_uuid();
    REQUIRE(api.put_transaction(a, root_id_text, {}).status == 201);
    REQUIRE(api.put_transaction(b, root_id_text, {}).status == 201);
    REQUIRE(api.advance(a).status == 204);
    auto r = api.advance(b);
    CHECK(r.status == 409);
    CHECK(error_code(r) == "conflict");
    CHECK(text(parse_json(r.body).at("head")) == a);
    CHECK(api.get("/transactions/" + b).status == 404);  // dead
}

TEST_CASE_FIXTURE(live_server, "a head with descendants is refused with 409") {
    auto a = random_uuid(), b = random_uuid();
    REQUIRE(api.put_transaction(a, root_id_text, {}).status == 201);
    REQUIRE(api.put_transaction(b, a, {}).status == 201);
    auto r = api.advance(a);
    CHECK(r.status == 409);
    CHECK(error_code(r) == "conflict");
    CHECK(api.advance(b).status == 204);
}

TEST_CASE_FIXTURE(live_server, "a transaction naming a missing chunk is 404") {
    auto absent = sha256_hex("never uploaded");
    auto r = api.put_transaction(random_uuid(), root_id_text, {absent});
    CHECK(r.status == 404);
    CHECK(error_code(r) == "missing_chunks");
    CHECK(text(parse_json(r.body).at("missing").as_array().at(0)) == absent.c_str());
}

TEST_CASE_FIXTURE(live_server, "a transaction naming a missing parent is 409") {
    auto r = api.put_transaction(random_uuid(), random_uuid(), {});
    CHECK(r.status == 409);
    CHECK(error_code(r) == "unknown_parent");
}

TEST_CASE_FIXTURE(live_server, "DELETE resets the user") {
    auto t = random_uuid();
    REQUIRE(api.put_chunk("x").status == 201);
    REQUIRE(api.put_transaction(t, root_id_text, {sha256_hex("x")}).status == 201);
    REQUIRE(api.advance(t).status == 204);
    CHECK(conn.request("DELETE", api.path()).status == 204);
    CHECK(api.head() == root_id_text);
    CHECK(api.get("/chunks/" + sha256_hex("x")).status == 404);
    auto summary = parse_json(api.get("/").body);
    CHECK(summary.at("transactions").to_number<int>() == 0);
    CHECK(summary.at("chunks").to_number<int>() == 0);
    CHECK(conn.request("DELETE", api.path("/")).status == 204);
}

TEST_CASE_FIXTURE(live_server, "users are isolated") {
    user_api other{conn};
    REQUIRE(api.put_chunk("mine").status == 201);
    CHECK(other.get("/chunks/" + sha256_hex("mine")).status == 404);
    auto t = random_uuid();
    REQUIRE(api.put_transaction(t, root_id_text, {}).status == 201);
    CHECK(error_code(other.advance(t)) == "unknown_transaction");
}

TEST_CASE_FIXTURE(live_server, "HEAD requests, ETag and 304") {
    REQUIRE(api.put_chunk("cached").status == 201);
    auto path = api.path("/chunks/" + sha256_hex("cached"));
    auto head = conn.request("HEAD", path);
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == "6");
    CHECK(head.body.empty());
    auto etag = head.header("etag");
    CHECK(etag == "\"" + sha256_hex("cached") + "\"");
    CHECK(head.header("cache-control").find("immutable") != std::string::npos);
    CHECK(conn.request("GET", path, {}, {{"If-None-Match", etag}}).status == 304);
    CHECK(conn.request("GET", path).body == "cached");  // connection still usable
}

TEST_CASE_FIXTURE(live_server, "pipelined requests are answered in order") {
    std::string one = "GET /0.1/" + api.user() + "/head HTTP/1.1\r\nHost: x\r\n" + authorization_line(server.port()) + "\r\n";
    std::string bad = "GET /0.1/BAD/head HTTP/1.1\r\nHost: x\r\n\r\n";
    std::string last = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto raw = raw_exchange(server.port(), one + bad + one + last);
    std::vector<unsigned> statuses;
    for (auto pos = raw.find("HTTP/1.1 "); pos != std::string::npos; pos = raw.find("HTTP/1.1 ", pos + 1))
        statuses.push_back(static_cast<unsigned>(std::stoi(raw.substr(pos + 9, 3))));
    CHECK(statuses == std::vector<unsigned>{200, 400, 200, 200});
}

TEST_CASE_FIXTURE(live_server, "Expect: 100-continue and chunked transfer encoding") {
    std::string body = "streamed chunk body";
    std::string request = "PUT /0.1/" + api.user() + "/chunks/" + sha256_hex(body) +
                          " HTTP/1.1\r\nHost: x\r\n" + authorization_line(server.port()) + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\n" +
                          "8\r\n" + body.substr(0, 8) + "\r\n" + "b\r\n" + body.substr(8) + "\r\n0\r\n\r\n";
    auto raw = raw_exchange(server.port(), request);
    CHECK(raw.find("HTTP/1.1 100 Continue") == 0);
    CHECK(raw.find("HTTP/1.1 201 Created") != std::string::npos);
    CHECK(api.get("/chunks/" + sha256_hex(body)).body == body);
}

TEST_CASE_FIXTURE(live_server, "service endpoints over HTTP") {
    auto root = http_call(server.port(), "GET", "/");
    CHECK(root.status == 200);
    CHECK(root.body.find("chunklogd") != std::string::npos);
    CHECK(text(parse_json(http_call(server.port(), "GET", "/healthz").body).at("status")) == "ok");
    CHECK(parse_json(http_call(server.port(), "GET", "/limits").body).at("max_list_limit").to_number<int>() == 1000);
    api.get("/head");
    // Same connection: the previous request is accounted before the next is read.
    auto metrics = conn.request("GET", "/metrics").body;
    CHECK(metrics.find("chunklog_requests_total{route=\"head\",status=\"200\"}") != std::string::npos);
    CHECK(metrics.find("chunklog_request_duration_seconds_bucket") != std::string::npos);
    CHECK(metrics.find("chunklog_open_connections") != std::string::npos);
    CHECK(!root.header("x-request-id").empty());
}

TEST_CASE_FIXTURE(live_server, "publish over HTTP: one request, all or nothing") {
    auto t1 = random_uuid(), t2 = random_uuid();
    auto c = sha256_hex("batch");
    auto body = [&](const std::string& tx, const std::string& parent, const std::string& chunk_data) {
        return boost::json::serialize(boost::json::object{
            {"chunks", boost::json::array{boost::json::object{{"id", sha256_hex(chunk_data)},
                                                              {"data", chunklog::base64_encode(chunk_data)}}}},
            {"transactions", boost::json::array{boost::json::object{
                                 {"id", tx}, {"parent", parent}, {"chunks", boost::json::array{sha256_hex(chunk_data).c_str()}}}}},
            {"head", tx}});
    };
    auto first = conn.request("POST", api.path("/publish"), body(t1, root_id_text, "batch"));
    CHECK(first.status == 200);
    CHECK(text(parse_json(first.body).at("head")) == t1);
    CHECK(api.get("/chunks/" + c).body == "batch");
    CHECK(conn.request("POST", api.path("/publish"), body(t1, root_id_text, "batch")).status == 200);

    auto stale = conn.request("POST", api.path("/publish"), body(t2, root_id_text, "lost"));
    CHECK(stale.status == 409);
    CHECK(text(parse_json(stale.body).at("head")) == t1);
    CHECK(api.get("/chunks/" + sha256_hex("lost")).status == 404);
    auto missing = conn.request("POST", api.path("/chunks/missing"),
                                R"({"chunks":[")" + sha256_hex("lost") + R"(",")" + c + R"("]})");
    CHECK(parse_json(missing.body).at("missing").as_array().size() == 1);
}

}
