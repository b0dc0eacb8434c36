// The router and handlers without sockets: every status code of the protocol.
#include "support/store_fixture.hpp"

#include "support/protocol.hpp"

#include "api/router.hpp"

#include <boost/json.hpp>

using namespace chunklog;
using api::http_method;
using chunklog::test::make_id;
using chunklog::test::text;

namespace {

struct router_fixture : test::store_fixture {
    api::metrics counters;
    api::service_options options;
    std::unique_ptr<api::router> routes = std::make_unique<api::router>(*store, options, counters);
    std::string base = "/0.1/" + user.to_string();

    api::response call(http_method m, const std::string& target, std::string body = {}, std::string inm = {}) {
        api::request r;
        r.method = m;
        r.target = target;
        r.body = std::move(body);
        r.if_none_match = std::move(inm);
        return routes->handle(std::move(r));
    }
    static std::string code(const api::response& r) {
        auto v = boost::json::parse(r.body);
        return std::string(v.at("error").as_string());
    }
    static boost::json::object json(const api::response& r) { return boost::json::parse(r.body).as_object(); }
    std::string chunk_path(const std::string& bytes) { return base + "/chunks/" + sha256_of(bytes).to_string(); }
    std::string tx_body(const uuid& parent, const std::vector<digest>& chunks = {}) {
        boost::json::array ids;
        for (const auto& c : chunks) ids.emplace_back(c.to_string());
        return boost::json::serialize(boost::json::object{{"parent", parent.to_string()}, {"chunks", ids}});
    }
    std::string head_body(const uuid& id) {
        return boost::json::serialize(boost::json::object{{"head", id.to_string()}});
    }
};

}  // namespace

TEST_SUITE("router") {

TEST_CASE_FIXTURE(router_fixture, "service endpoints") {
    auto info = call(http_method::get, "/");
    CHECK(info.status == 200);
    CHECK(info.content_type.starts_with("text/plain"));
    CHECK(info.body.find("chunklogd") != std::string::npos);
    CHECK(text(json(call(http_method::get, "/healthz")).at("status")) == "ok");
    auto limits = json(call(http_method::get, "/limits"));
    CHECK(limits.at("max_chunk_bytes").to_number<std::uint64_t>() == 16u << 20);
    CHECK(limits.at("max_json_bytes").to_number<std::uint64_t>() == 1u << 20);
    CHECK(limits.at("max_log_limit").to_number<std::uint64_t>() == 10000);
    CHECK(limits.at("max_publish_chunks").to_number<std::uint64_t>() == 10000);
    CHECK(limits.at("max_publish_transactions").to_number<std::uint64_t>() == 10000);
    CHECK(limits.at("max_log_page_bytes").to_number<std::uint64_t>() == 32u << 20);
    auto m = call(http_method::get, "/metrics");
    CHECK(m.body.find("chunklog_open_connections") != std::string::npos);
    CHECK(call(http_method::post, "/healthz").status == 405);
}

TEST_CASE_FIXTURE(router_fixture, "unknown paths, bad users and wrong methods") {
    CHECK(code(call(http_method::get, "/nope")) == "not_found");
    CHECK(call(http_method::get, "/0.1").status == 404);
    CHECK(call(http_method::get, base + "/head/extra").status == 404);
    CHECK(call(http_method::get, base + "/unknown").status == 404);
    auto bad_user = call(http_method::get, "/0.1/NOT-A-UUID/head");
    CHECK(bad_user.status == 400);
    CHECK(code(bad_user) == "invalid_id");
    CHECK(code(call(http_method::get, "/0.1/AAAAAAAA-0000-4000-8000-000000000000")) == "invalid_id");
    auto wrong = call(http_method::post, base + "/head");
    CHECK(wrong.status == 405);
    CHECK(code(wrong) == "method_not_allowed");
    REQUIRE(wrong.headers.size() == 1);
    CHECK(wrong.headers[0].first == "Allow");
    CHECK(wrong.headers[0].second == "GET, HEAD, PUT");
    CHECK(call(http_method::put, base).status == 405);
    CHECK(call(http_method::delete_, base + "/transactions").status == 405);
    CHECK(call(http_method::other, base + "/chunks/" + std::string(64, 'a')).status == 405);
}

TEST_CASE_FIXTURE(router_fixture, "user summary and delete, with and without trailing slash") {
    CHECK(call(http_method::put, chunk_path("abc"), "abc").status == 201);
    auto s = json(call(http_method::get, base + "/"));
    CHECK(text(s.at("user")) == user.to_string());
    CHECK(text(s.at("head")) == root_id.to_string());
    CHECK(s.at("chunks").to_number<int>() == 1);
    CHECK(s.at("bytes").to_number<int>() == 3);
    CHECK(call(http_method::delete_, base + "/").status == 204);
    CHECK(json(call(http_method::get, base)).at("chunks").to_number<int>() == 0);
    CHECK(call(http_method::delete_, base).status == 204);
}

TEST_CASE_FIXTURE(router_fixture, "delete is 403 when disabled") {
    options.allow_delete = false;
    routes = std::make_unique<api::router>(*store, options, counters);
    auto r = call(http_method::delete_, base);
    CHECK(r.status == 403);
    CHECK(code(r) == "forbidden");
}

TEST_CASE_FIXTURE(router_fixture, "chunk upload and download") {
    CHECK(call(http_method::put, chunk_path("bytes"), "bytes").status == 201);
    CHECK(call(http_method::put, chunk_path("bytes"), "bytes").status == 200);
    auto mismatch = call(http_method::put, chunk_path("bytes"), "other");
    CHECK(mismatch.status == 400);
    CHECK(code(mismatch) == "hash_mismatch");
    CHECK(code(call(http_method::put, base + "/chunks/xyz", "x")) == "invalid_id");
    CHECK(code(call(http_method::get, base + "/chunks/" + std::string(64, 'A'))) == "invalid_id");

    auto got = call(http_method::get, chunk_path("bytes"));
    CHECK(got.status == 200);
    CHECK(got.body == "bytes");
    CHECK(got.content_type == "application/octet-stream");
    auto etag = "\"" + sha256_of("bytes").to_string() + "\"";
    CHECK(call(http_method::get, chunk_path("bytes"), {}, etag).status == 304);
    CHECK(call(http_method::get, chunk_path("bytes"), {}, "\"x\", W/" + etag).status == 304);
    CHECK(call(http_method::get, chunk_path("bytes"), {}, "*").status == 304);
    CHECK(call(http_method::get, chunk_path("bytes"), {}, "\"other\"").status == 200);
    auto absent = call(http_method::get, chunk_path("absent"));
    CHECK(absent.status == 404);
    CHECK(code(absent) == "not_found");
    auto head = call(http_method::head, chunk_path("bytes"));
    CHECK(head.status == 200);
    CHECK(head.body.empty());  // answered from the size record, bytes not read
    CHECK(head.head_length == std::optional<std::uint64_t>(5));
    CHECK(call(http_method::head, chunk_path("absent")).status == 404);
}

TEST_CASE_FIXTURE(router_fixture, "a chunk on disk only is read on the blocking pool, a cached one on the I/O thread") {
    std::string big(64 * 1024, 'c');
    REQUIRE(call(http_method::put, chunk_path(big), big).status == 201);
    routes.reset();
    reopen();  // the chunk is in a blob file now, and the caches are empty
    routes = std::make_unique<api::router>(*store, options, counters);
    api::request req;
    req.method = http_method::get;
    req.target = chunk_path(big);
    req.may_block = false;
    CHECK(routes->handle(req).retry_blocking);  // on an I/O thread: not from disk
    req.may_block = true;
    auto read = routes->handle(req);
    CHECK(read.status == 200);
    CHECK(read.body == big);
    req.may_block = false;
    auto cached = routes->handle(req);
    CHECK(cached.retry_blocking == store->reads_block());  // a database server's store keeps nothing here
    if (!cached.retry_blocking) CHECK(cached.body == big);
}

TEST_CASE_FIXTURE(router_fixture, "oversized chunk is 413 even when it reaches the router") {
    options.limits.max_chunk_bytes = 4;
    routes = std::make_unique<api::router>(*store, options, counters);
    auto r = call(http_method::put, chunk_path("12345"), "12345");
    CHECK(r.status == 413);
    CHECK(code(r) == "payload_too_large");
    CHECK(routes->body_rule_for(http_method::put, chunk_path("x")).limit == 4);
    CHECK(routes->body_rule_for(http_method::put, chunk_path("x")).hash);
    CHECK_FALSE(routes->body_rule_for(http_method::put, base + "/head").hash);
}

TEST_CASE_FIXTURE(router_fixture, "transaction creation statuses") {
    auto chunk = add_chunk("c");
    auto tx = base + "/transactions/" + make_id(1).to_string();
    auto created = call(http_method::put, tx, tx_body(root_id, {chunk}));
    CHECK(created.status == 201);
    CHECK(json(created).at("seq").to_number<int>() == 1);
    CHECK(call(http_method::put, tx, tx_body(root_id, {chunk})).status == 200);
    auto exists = call(http_method::put, tx, tx_body(root_id));
    CHECK(exists.status == 409);
    CHECK(code(exists) == "transaction_exists");

    auto tx2 = base + "/transactions/" + make_id(2).to_string();
    auto unknown_parent = call(http_method::put, tx2, tx_body(make_id(99)));
    CHECK(unknown_parent.status == 409);
    CHECK(code(unknown_parent) == "unknown_parent");
    auto missing = call(http_method::put, tx2, tx_body(make_id(1), {sha256_of("nope")}));
    CHECK(missing.status == 404);
    CHECK(code(missing) == "missing_chunks");
    CHECK(text(json(missing).at("missing").as_array().at(0)) == sha256_of("nope").to_string());

    CHECK(code(call(http_method::put, base + "/transactions/" + root_id.to_string(), tx_body(root_id))) ==
          "bad_request");
    CHECK(code(call(http_method::put, tx2, tx_body(make_id(2)))) == "bad_request");
    CHECK(code(call(http_method::put, base + "/transactions/nope", tx_body(root_id))) == "invalid_id");
    CHECK(code(call(http_method::put, tx2, R"({"parent":"bad","chunks":[]})")) == "invalid_id");
    CHECK(code(call(http_method::put, tx2, R"({"parent":")" + make_id(1).to_string() + R"(","chunks":["zz"]})")) ==
          "invalid_id");
    CHECK(code(call(http_method::put, tx2, "{not json")) == "bad_request");
    CHECK(code(call(http_method::put, tx2, "[]")) == "bad_request");
    CHECK(code(call(http_method::put, tx2, R"({"parent":1,"chunks":[]})")) == "bad_request");
    CHECK(code(call(http_method::put, tx2, R"({"parent":")" + make_id(1).to_string() + R"(","chunks":"x"})")) ==
          "bad_request");
    CHECK(code(call(http_method::put, tx2, R"({"parent":")" + make_id(1).to_string() + R"("})")) == "bad_request");
    auto with_seq = [&](const std::string& seq) {
        return call(http_method::put, tx2,
                    R"({"parent":")" + make_id(1).to_string() + R"(","chunks":[],"seq":)" + seq + "}");
    };
    CHECK(code(with_seq("5")) == "bad_request");
    CHECK(code(with_seq("-2")) == "bad_request");
    CHECK(code(with_seq("2.5")) == "bad_request");
    CHECK(code(with_seq("\"2\"")) == "bad_request");
    CHECK(with_seq("2").status == 201);
}

TEST_CASE_FIXTURE(router_fixture, "too many chunks in one transaction is 400") {
    options.limits.max_chunks_per_transaction = 2;
    routes = std::make_unique<api::router>(*store, options, counters);
    auto c = add_chunk("c");
    auto r = call(http_method::put, base + "/transactions/" + make_id(1).to_string(), tx_body(root_id, {c, c, c}));
    CHECK(r.status == 400);
    CHECK(code(r) == "bad_request");
}

TEST_CASE_FIXTURE(router_fixture, "HEAD reads and advances") {
    add_chain(1, 2, root_id);
    add_transaction(make_id(5), root_id);
    auto h = json(call(http_method::get, base + "/head"));
    CHECK(text(h.at("head")) == root_id.to_string());
    CHECK(h.at("seq").to_number<int>() == 0);
    CHECK(call(http_method::put, base + "/head", head_body(root_id)).status == 204);  // idempotent at ROOT
    CHECK(call(http_method::put, base + "/head", head_body(make_id(2))).status == 204);
    CHECK(call(http_method::put, base + "/head", head_body(make_id(2))).status == 204);  // idempotent
    auto conflict = call(http_method::put, base + "/head", head_body(make_id(5)));
    CHECK(conflict.status == 409);
    CHECK(code(conflict) == "conflict");
    CHECK(text(json(conflict).at("head")) == make_id(2).to_string());
    CHECK(code(call(http_method::put, base + "/head", head_body(root_id))) == "conflict");
    auto unknown = call(http_method::put, base + "/head", head_body(make_id(42)));
    CHECK(unknown.status == 404);
    CHECK(code(unknown) == "unknown_transaction");
    CHECK(code(call(http_method::put, base + "/head", R"({"head":"zzz"})")) == "invalid_id");
    CHECK(code(call(http_method::put, base + "/head", R"({"head":7})")) == "bad_request");
    CHECK(code(call(http_method::put, base + "/head", R"({})")) == "bad_request");
    CHECK(code(call(http_method::put, base + "/head", "")) == "bad_request");
    CHECK(counters.render().find("chunklog_conflicts_total 2") != std::string::npos);
}

TEST_CASE_FIXTURE(router_fixture, "listing transactions") {
    add_chain(1, 3, root_id);
    REQUIRE(store->advance_head(user, make_id(3)));
    add_transaction(make_id(9), make_id(3));  // pending
    auto all = json(call(http_method::get, base + "/transactions"));
    CHECK(text(all.at("from")) == root_id.to_string());
    CHECK(all.at("limit").to_number<int>() == 100);
    CHECK(text(all.at("head")) == make_id(3).to_string());
    CHECK(all.at("transactions").as_array().size() == 3);
    auto page = json(call(http_method::get, base + "/transactions?from=" + make_id(1).to_string() + "&limit=1&x=y"));
    CHECK(page.at("transactions").as_array() == boost::json::array{make_id(2).to_string().c_str()});
    CHECK(json(call(http_method::get, base + "/transactions?limit=5000")).at("limit").to_number<int>() == 1000);
    CHECK(json(call(http_method::get, base + "/transactions?limit=99999999999999999999999"))
              .at("limit").to_number<int>() == 1000);
    CHECK(json(call(http_method::get, base + "/transactions?limit=0")).at("transactions").as_array().empty());
    for (const char* bad : {"abc", "-1", "1.5", ""})
        CHECK(code(call(http_method::get, base + "/transactions?limit=" + bad)) == "bad_request");
    CHECK(code(call(http_method::get, base + "/transactions?from=nope")) == "invalid_id");
    CHECK(code(call(http_method::get, base + "/transactions?from=" + make_id(9).to_string())) == "not_found");
    CHECK(code(call(http_method::get, base + "/transactions?from=" + make_id(77).to_string())) == "not_found");
}

TEST_CASE_FIXTURE(router_fixture, "only committed transactions can be read") {
    add_transaction(make_id(1), root_id);
    REQUIRE(store->advance_head(user, make_id(1)));
    add_transaction(make_id(2), make_id(1));  // pending
    auto t = json(call(http_method::get, base + "/transactions/" + make_id(1).to_string()));
    CHECK(text(t.at("id")) == make_id(1).to_string());
    CHECK(text(t.at("parent")) == root_id.to_string());
    CHECK(t.at("seq").to_number<int>() == 1);
    CHECK(t.at("chunks").as_array().empty());
    CHECK(code(call(http_method::get, base + "/transactions/" + make_id(2).to_string())) == "not_found");
    CHECK(code(call(http_method::get, base + "/transactions/" + root_id.to_string())) == "not_found");
    CHECK(code(call(http_method::get, base + "/transactions/bad")) == "invalid_id");
}

}
