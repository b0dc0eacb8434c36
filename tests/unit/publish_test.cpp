// POST publish and chunks/missing: storage rules and the HTTP handlers.
#include "support/requests.hpp"
#include "support/store_fixture.hpp"

#include "api/router.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>

using namespace chunklog;
using chunklog::test::make_id;
using storage::new_transaction;
using storage::publish_request;
using storage::insert_result;

TEST_SUITE("publish") {

TEST_CASE("base64 round-trips and rejects non-canonical text") {
    for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)})
        CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_decode("Zm9vYg==") == std::optional<std::string>("foob"));
    CHECK_FALSE(base64_decode("Zm9"));
    CHECK_FALSE(base64_decode("Zm9v YmFy"));
    CHECK_FALSE(base64_decode("Zm=vYmFy"));
    CHECK_FALSE(base64_decode("Zm9v!mFy"));
    CHECK_FALSE(base64_decode("===="));
    CHECK_FALSE(base64_decode("Z==="));
    CHECK_FALSE(base64_decode("Zg==Zg=="));
    CHECK(base64_decode("QQ==") == std::optional<std::string>("A"));
    CHECK_FALSE(base64_decode("QR=="));  // non-zero padding bits: not canonical
    CHECK_FALSE(base64_decode("QUF="));
    std::string all_bytes;
    for (int i = 0; i < 3 * 256 + 1; ++i) all_bytes.push_back(static_cast<char>(i * 7));
    CHECK(base64_decode(base64_encode(all_bytes)) == all_bytes);
}

TEST_CASE_FIXTURE(test::store_fixture, "a publish stores chunks, a chain of transactions and the HEAD advance at once") {
    auto c = sha256_of("op batch");
    publish_request r;
    r.chunks = {{c, "op batch"}};
    r.transactions = {new_transaction{make_id(1), root_id, std::nullopt, {c}},
                      new_transaction{make_id(2), make_id(1), 2, {c, c}}};
    r.head = make_id(2);
    auto done = store->publish(user, r);
    REQUIRE(done);
    CHECK(done->after == head_state{make_id(2), 2});
    CHECK(done->before == head_state{});
    CHECK(done->head_advanced);
    CHECK(done->chunks_created == 1);
    CHECK(done->chunk_bytes_created == 8);
    CHECK(done->transactions_created == 2);
    CHECK(store->list_committed(user, root_id, 10).value().ids == std::vector{make_id(1), make_id(2)});
    CHECK(store->summary(user).value().chunks == 1);

    SUBCASE("re-sending it changes nothing and answers the same HEAD") {
        auto again = store->publish(user, r).value();
        CHECK(again.after == head_state{make_id(2), 2});
        CHECK_FALSE(again.head_advanced);
        CHECK(again.chunks_created + again.transactions_created == 0);
        CHECK(store->summary(user).value().chunks == 1);
    }
    SUBCASE("a head that is an ancestor of HEAD is left alone") {
        publish_request old;
        old.head = make_id(1);
        CHECK(store->publish(user, old).value().after == head_state{make_id(2), 2});
    }
    SUBCASE("old transactions plus a new one with a committed head: 409 and nothing stored") {
        // Not a re-send: the new transaction would be stored but never published.
        publish_request mixed = r;
        mixed.chunks.push_back({sha256_of("new op"), "new op"});
        mixed.transactions.push_back(new_transaction{make_id(3), make_id(2), std::nullopt, {sha256_of("new op")}});
        for (auto head : {make_id(1), make_id(2)}) {
            mixed.head = head;
            auto e = store->publish(user, mixed);
            REQUIRE_FALSE(e);
            CHECK(e.error().code == errc::conflict);
            CHECK(e.error().head == make_id(2));
            CHECK_FALSE(store->chunk(user, sha256_of("new op")).value());
            new_transaction probe{make_id(3), make_id(1), std::nullopt, {}};
            CHECK(store->put_transaction(user, probe).value().result == insert_result::created);  // id was free
            REQUIRE(store->delete_user(user));
            REQUIRE(store->publish(user, r));
        }
    }
    SUBCASE("a re-send with a chunk the store lacks stores the chunk and changes nothing else") {
        publish_request resend = r;
        resend.chunks.push_back({sha256_of("extra"), "extra"});
        auto again = store->publish(user, resend).value();
        CHECK(again.chunks_created == 1);
        CHECK_FALSE(again.head_advanced);
        CHECK(store->chunk(user, sha256_of("extra")).value() == std::optional<std::string>("extra"));
    }
    SUBCASE("a publish on a stale parent conflicts and stores nothing") {
        publish_request stale;
        stale.chunks = {{sha256_of("late"), "late"}};
        stale.transactions = {new_transaction{make_id(3), make_id(1), std::nullopt, {sha256_of("late")}}};
        stale.head = make_id(3);
        auto e = store->publish(user, stale);
        REQUIRE_FALSE(e);
        CHECK(e.error().code == errc::conflict);
        CHECK(e.error().head == make_id(2));
        CHECK_FALSE(store->chunk(user, sha256_of("late")).value());
        CHECK(store->missing_chunks(user, std::vector{sha256_of("late")}).value().size() == 1);
    }
}

TEST_CASE_FIXTURE(test::store_fixture, "one bad part and nothing of the publish is stored") {
    publish_request r;
    r.chunks = {{sha256_of("good"), "good"}};
    r.transactions = {new_transaction{make_id(1), root_id, std::nullopt, {sha256_of("good")}},
                      new_transaction{make_id(2), make_id(1), std::nullopt, {sha256_of("never sent")}}};
    r.head = make_id(2);
    auto e = store->publish(user, r);
    REQUIRE_FALSE(e);
    CHECK(e.error().code == errc::missing_chunks);
    CHECK(e.error().missing == std::vector{sha256_of("never sent")});
    CHECK_FALSE(store->chunk(user, sha256_of("good")).value());
    CHECK(store->summary(user).value().chunks == 0);
    add_transaction(make_id(1), root_id);  // the id was not taken

    publish_request unknown_head;
    unknown_head.head = make_id(42);
    CHECK(store->publish(user, unknown_head).error().code == errc::unknown_transaction);
    publish_request orphan;
    orphan.transactions = {new_transaction{make_id(5), make_id(77), std::nullopt, {}}};
    CHECK(store->publish(user, orphan).error().code == errc::unknown_parent);
}

TEST_CASE_FIXTURE(test::store_fixture, "a publish naming many ids locks the user whole and stores it all") {
    publish_request r;
    uuid parent = root_id;
    for (int i = 1; i <= 300; ++i) {
        auto bytes = "op " + std::to_string(i);
        r.chunks.push_back({sha256_of(bytes), bytes});
        r.transactions.push_back(new_transaction{make_id(i), parent, std::nullopt, {sha256_of(bytes)}});
        parent = make_id(i);
    }
    r.head = parent;
    auto done = store->publish(user, r).value();
    CHECK(done.after.seq == 300);
    CHECK(done.chunks_created == 300);
    CHECK(store->summary(user).value().chunks == 300);
}

TEST_CASE_FIXTURE(test::store_fixture, "publish refuses a head with children, even new ones") {
    publish_request r;
    r.transactions = {new_transaction{make_id(1), root_id, std::nullopt, {}},
                      new_transaction{make_id(2), make_id(1), std::nullopt, {}}};
    r.head = make_id(1);
    CHECK(store->publish(user, r).error().code == errc::conflict);
    CHECK(store->head(user).value().head == root_id);
}

TEST_CASE_FIXTURE(test::store_fixture, "the HTTP handlers of publish and chunks/missing") {
    api::metrics counters;
    api::router routes(*store, {}, counters);
    auto base = "/0.1/" + user.to_string();
    auto call = [&](api::http_method m, const std::string& path, std::string body) {
        return routes.handle(test::make_request(m, base + path, std::move(body)));
    };
    auto code = [](const api::response& r) {
        return std::string(boost::json::parse(r.body).at("error").as_string());
    };
    auto c = sha256_of("payload").to_string();
    auto missing = call(api::http_method::post, "/chunks/missing", R"({"chunks":[")" + c + R"(",")" + c + R"("]})");
    CHECK(missing.status == 200);
    CHECK(boost::json::parse(missing.body).at("missing").as_array().size() == 1);

    auto tx = make_id(1).to_string();
    std::string body = R"({"chunks":[{"id":")" + c + R"(","data":")" + base64_encode("payload") +
                       R"("}],"transactions":[{"id":")" + tx + R"(","parent":")" + root_id.to_string() +
                       R"(","chunks":[")" + c + R"("]}],"head":")" + tx + R"("})";
    auto published = call(api::http_method::post, "/publish", body);
    CHECK(published.status == 200);
    CHECK(boost::json::parse(published.body).at("seq").to_number<int>() == 1);
    CHECK(call(api::http_method::post, "/publish", body).status == 200);  // re-sent
    CHECK(boost::json::parse(call(api::http_method::post, "/chunks/missing", R"({"chunks":[")" + c + R"("]})").body)
              .at("missing").as_array().empty());

    CHECK(code(call(api::http_method::post, "/publish", R"({"chunks":[{"id":")" + c + R"(","data":"%%%"}]})")) ==
          "bad_request");
    CHECK(code(call(api::http_method::post, "/publish",
                    R"({"chunks":[{"id":")" + c + R"(","data":")" + base64_encode("other") + R"("}]})")) ==
          "hash_mismatch");
    CHECK(code(call(api::http_method::post, "/publish", R"({"head":"nope"})")) == "invalid_id");
    std::string many_chunks = R"({"chunks":[)";
    for (int i = 0; i <= 10'000; ++i) many_chunks += std::string(i ? "," : "") + "{}";
    auto too_many = call(api::http_method::post, "/publish", many_chunks + "]}");
    CHECK(too_many.status == 413);
    CHECK(code(too_many) == "payload_too_large");
    std::string many_transactions = R"({"transactions":[)";
    for (int i = 0; i <= 10'000; ++i) many_transactions += std::string(i ? "," : "") + "{}";
    CHECK(call(api::http_method::post, "/publish", many_transactions + "]}").status == 413);
    CHECK(code(call(api::http_method::post, "/publish", R"({"transactions":{}})")) == "bad_request");
    CHECK(code(call(api::http_method::post, "/chunks/missing", R"({"chunks":["xyz"]})")) == "invalid_id");
    CHECK(call(api::http_method::get, "/publish", "").status == 405);
    CHECK(call(api::http_method::get, "/chunks/missing", "").status == 405);
    CHECK(routes.body_rule_for(api::http_method::post, base + "/publish").limit == 64u << 20);
}

}
