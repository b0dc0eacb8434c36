// The client library against the real server: every call, pulls of
// thousands of transactions, the conflict loop of two publishers, and
// retries across a server restart.
#include "support/outcome_printer.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <doctest/doctest.h>

#include <future>
#include <thread>

using namespace chunklog;

namespace {

struct client_fixture {
    test::temp_dir dir;
    std::unique_ptr<test::server_process> server = std::make_unique<test::server_process>(dir.path() / "db");
    uuid user = uuid::random();
    std::string token = test::issue_token(server->port(), user.to_string());

    client make_client(unsigned retries = 4) {
        client_options o;
        o.server_url = "http://127.0.0.1:" + std::to_string(server->port());
        o.user = user;
        o.token = token;
        o.retries = retries;
        o.backoff = std::chrono::milliseconds(50);
        return client(o);
    }
};

// Publishes one transaction holding `payload` on top of HEAD, rebasing on conflict.
head_state publish_with_retry(client& c, const std::string& payload, int& conflicts) {
    auto h = c.head().value();
    for (;;) {
        transaction_record t{uuid::random(), h.head, 0, {sha256_of(payload)}};
        auto r = c.publish({{payload}, {t}, t.id});
        if (r) return *r;
        REQUIRE(r.error().code == errc::conflict);
        REQUIRE(r.error().head);
        ++conflicts;
        h.head = *r.error().head;
    }
}

}  // namespace

TEST_SUITE("client") {

TEST_CASE_FIXTURE(client_fixture, "the core calls round-trip") {
    auto c = make_client();
    CHECK(c.head().value() == head_state{});
    auto id = c.put_chunk("hello").value();
    CHECK(c.get_chunk(id).value() == "hello");
    CHECK(c.missing_chunks(std::vector{id, sha256_of("nope")}).value() == std::vector{sha256_of("nope")});
    transaction_record t{uuid::random(), root_id, 0, {id}};
    REQUIRE(c.put_transaction(t));
    REQUIRE(c.advance_head(t.id));
    CHECK(c.head().value() == head_state{t.id, 1});
    CHECK(c.list().value() == std::vector{t.id});
    CHECK(c.transaction(t.id).value().chunks == std::vector{id});
    auto info = c.info().value();
    CHECK(info.chunks == 1);
    CHECK(info.transactions == 1);
    REQUIRE(c.delete_user());
    CHECK(c.head().value() == head_state{});
}

TEST_CASE_FIXTURE(client_fixture, "protocol errors come back typed") {
    auto c = make_client();
    auto missing = c.get_chunk(sha256_of("absent"));
    CHECK(missing.error().code == errc::not_found);
    transaction_record orphan{uuid::random(), uuid::random(), 0, {}};
    CHECK(c.put_transaction(orphan).error().code == errc::unknown_parent);
    transaction_record needs_chunk{uuid::random(), root_id, 0, {sha256_of("absent")}};
    auto e = c.put_transaction(needs_chunk);
    CHECK(e.error().code == errc::missing_chunks);
    CHECK(e.error().missing == std::vector{sha256_of("absent")});
    CHECK(c.advance_head(uuid::random()).error().code == errc::unknown_transaction);
}

TEST_CASE_FIXTURE(client_fixture, "pull pages through a few thousand transactions in order") {
    auto c = make_client();
    constexpr int count = 2500;
    publish_batch batch;
    uuid parent = root_id;
    std::vector<uuid> ids;
    for (int i = 0; i < count; ++i) {
        auto payload = "op " + std::to_string(i % 50);  // chunks repeat across transactions
        if (i < 50) batch.chunks.push_back(payload);
        transaction_record t{uuid::random(), parent, 0, {sha256_of(payload)}};
        batch.transactions.push_back(t);
        ids.push_back(t.id);
        parent = t.id;
    }
    batch.head = parent;
    REQUIRE(c.publish(batch));

    std::vector<uuid> pulled;
    auto before = c.requests_sent();
    auto last = c.pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
        REQUIRE(t.chunks.size() == 1);
        CHECK(t.chunks[0] == "op " + std::to_string(pulled.size() % 50));
        pulled.push_back(t.record.id);
        return {};
    }, 1000);
    REQUIRE(last);
    CHECK(*last == ids.back());
    CHECK(pulled == ids);
    CHECK(c.requests_sent() - before == 3);  // 1000 + 1000 + 500

    auto resumed = c.pull(ids[2400], [](const pulled_transaction&) -> outcome<void> { return {}; });
    CHECK(resumed.value() == ids.back());
}

TEST_CASE("pull walks pages the server ends early by size, within a small response limit") {
    test::temp_dir dir;
    test::server_process server(dir.path() / "db", {"--max-log-page-bytes", "2500"});
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(server.port());
    o.user = uuid::random();
    o.token = test::issue_token(server.port(), o.user.to_string());
    o.max_response_bytes = 8192;  // a page of one 2,000-byte chunk fits; the whole log would not
    client c(o);
    publish_batch batch;
    uuid parent = root_id;
    std::vector<uuid> ids;
    for (int i = 0; i < 6; ++i) {
        batch.chunks.push_back(std::string(2000, static_cast<char>('a' + i)));
        batch.transactions.push_back({uuid::random(), parent, 0, {sha256_of(batch.chunks.back())}});
        parent = batch.transactions.back().id;
        ids.push_back(parent);
    }
    batch.head = parent;
    REQUIRE(c.publish(batch));

    std::vector<uuid> pulled;
    auto before = c.requests_sent();
    auto last = c.pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
        REQUIRE(t.chunks.size() == 1);
        CHECK(t.chunks[0] == batch.chunks[pulled.size()]);
        pulled.push_back(t.record.id);
        return {};
    });
    CHECK(last.value() == ids.back());
    CHECK(pulled == ids);
    CHECK(c.requests_sent() - before == 6);  // one transaction per page
}

TEST_CASE_FIXTURE(client_fixture, "two clients publishing at once both land, and the chain is linear") {
    constexpr int per_client = 30;
    int conflicts_a = 0, conflicts_b = 0;
    std::thread a([&] {
        auto c = make_client();
        for (int i = 0; i < per_client; ++i) publish_with_retry(c, "a" + std::to_string(i), conflicts_a);
    });
    std::thread b([&] {
        auto c = make_client();
        for (int i = 0; i < per_client; ++i) publish_with_retry(c, "b" + std::to_string(i), conflicts_b);
    });
    a.join();
    b.join();
    auto c = make_client();
    std::vector<transaction_record> chain;
    REQUIRE(c.pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
        chain.push_back(t.record);
        return {};
    }));
    CHECK(chain.size() == 2 * per_client);
    for (std::size_t i = 0; i < chain.size(); ++i) {
        CHECK(chain[i].seq == i + 1);
        CHECK(chain[i].parent == (i == 0 ? root_id : chain[i - 1].id));
    }
    MESSAGE("conflicts resolved by rebasing: " << conflicts_a + conflicts_b);
}

TEST_CASE_FIXTURE(client_fixture, "calls are retried across a server restart") {
    auto c = make_client(8);  // backoff 50 ms doubling: about 12 s in all
    REQUIRE(c.put_chunk("before"));
    auto port = server->port();
    server->kill_hard();
    // The client retries in another thread while this one restarts the
    // server (a spawned server dies with the thread that started it).
    auto got = std::async(std::launch::async, [&] { return c.get_chunk(sha256_of("before")); });
    REQUIRE(test::wait_until([&] { return c.requests_sent() >= 3; }));  // the first call and two retries failed
    server = std::make_unique<test::server_process>(dir.path() / "db", std::vector<std::string>{}, port);
    auto fetched = got.get();
    CHECK_MESSAGE(fetched.has_value(), server->log());
    CHECK(c.requests_sent() > 2);
    CHECK(fetched.value() == "before");
}

TEST_CASE("a server that never answers is cut off by the request timeout") {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    o.user = uuid::random();
    o.timeout = std::chrono::milliseconds(300);
    o.retries = 1;
    o.backoff = std::chrono::milliseconds(1);
    client c(o);
    auto started = std::chrono::steady_clock::now();
    CHECK(c.head().error().code == errc::network);  // connects (backlog), never gets an answer
    CHECK(c.requests_sent() == 2);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("an unreachable server is a network error after the retries") {
    client_options o;
    o.server_url = "http://127.0.0.1:1";
    o.user = uuid::random();
    o.retries = 1;
    o.backoff = std::chrono::milliseconds(1);
    client c(o);
    CHECK(c.head().error().code == errc::network);
    client_options ftp;
    ftp.server_url = "ftp://x";
    ftp.user = uuid::random();
    CHECK_THROWS_AS(client{ftp}, std::invalid_argument);
}

}
