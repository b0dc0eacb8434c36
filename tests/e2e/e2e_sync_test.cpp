// End-to-end: the sync extensions over loopback. GET log paging and chunk
// de-duplication, and the long poll woken by another client or by shutdown.
#include "support/live_server.hpp"
#include "support/test_store.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <sstream>
#include <thread>

using namespace chunklog::test;

namespace {

struct sync_server : live_server {
    // Publishes n transactions in one request; transaction i holds chunk i % 3.
    std::vector<std::string> publish_chain(int n) {
        boost::json::array chunks, transactions;
        for (int c = 0; c < 3; ++c) {
            auto bytes = "shared chunk " + std::to_string(c);
            chunks.push_back(boost::json::object{{"id", sha256_hex(bytes)}, {"data", chunklog::base64_encode(bytes)}});
        }
        std::vector<std::string> ids;
        std::string parent = root_id_text;
        for (int i = 0; i < n; ++i) {
            auto id = random_uuid();
            transactions.push_back(boost::json::object{
                {"id", id}, {"parent", parent},
                {"chunks", boost::json::array{sha256_hex("shared chunk " + std::to_string(i % 3)).c_str()}}});
            ids.push_back(id);
            parent = id;
        }
        auto body = boost::json::serialize(
            boost::json::object{{"chunks", chunks}, {"transactions", transactions}, {"head", parent}});
        REQUIRE(conn.request("POST", api.path("/publish"), body).status == 200);
        return ids;
    }
};

// Waits, with a bound, until `count` long polls are waiting in the server.
bool wait_for_long_polls(std::uint16_t port, long count) {
    return wait_for_metric(port, "chunklog_long_polls_waiting", count);
}

struct log_page {
    std::vector<std::string> transactions;
    std::vector<std::string> chunks;
    std::string last;
    bool more = false;
    bool ended = false;
};

log_page read_log(http_connection& conn, const std::string& target) {
    auto r = conn.request("GET", target);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type") == "application/x-ndjson");
    log_page page;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
        auto parsed = parse_json(line);
        // The per-transaction lines are written by hand: they must be the
        // same canonical JSON a serializer produces.
        CHECK(boost::json::serialize(parsed) == line);
        auto v = parsed.as_object();
        if (v.contains("chunk")) page.chunks.push_back(text(v.at("chunk").at("id")));
        if (v.contains("transaction")) page.transactions.push_back(text(v.at("transaction").at("id")));
        if (v.contains("end")) {
            page.last = text(v.at("end").at("last"));
            page.more = v.at("end").at("more").as_bool();
            page.ended = true;
        }
    }
    return page;
}

}  // namespace

TEST_SUITE("e2e_sync") {

TEST_CASE_FIXTURE(sync_server, "GET log pages through everything, each chunk once per page") {
    auto ids = publish_chain(25);
    std::vector<std::string> seen;
    std::string from = root_id_text;
    int pages = 0;
    for (bool more = true; more; ++pages) {
        auto page = read_log(conn, api.path("/log?limit=10&from=" + from));
        CHECK(page.ended);
        CHECK(page.chunks.size() == 3);  // three distinct chunks, sent once each
        seen.insert(seen.end(), page.transactions.begin(), page.transactions.end());
        from = page.last;
        more = page.more;
    }
    CHECK(pages == 3);
    CHECK(seen == ids);
    auto empty = read_log(conn, api.path("/log?from=" + ids.back()));
    CHECK(empty.transactions.empty());
    CHECK(empty.last == ids.back());
    CHECK_FALSE(empty.more);
    auto without_data = read_log(conn, api.path("/log?chunks=0&limit=5"));
    CHECK(without_data.chunks.empty());
    CHECK(without_data.transactions.size() == 5);
    CHECK(without_data.more);
}

TEST_CASE_FIXTURE(sync_server, "GET log errors") {
    auto ids = publish_chain(2);
    CHECK(error_code(api.get("/log?from=" + random_uuid())) == "not_found");
    CHECK(error_code(api.get("/log?from=bad")) == "invalid_id");
    CHECK(error_code(api.get("/log?limit=x")) == "bad_request");
    CHECK(error_code(api.get("/log?chunks=2")) == "bad_request");
    CHECK(conn.request("POST", api.path("/log")).status == 405);
    CHECK(read_log(conn, api.path("/log?limit=999999")).transactions.size() == 2);
}

TEST_CASE_FIXTURE(sync_server, "a long poll is woken by another client's advance") {
    auto id = random_uuid();
    REQUIRE(api.put_transaction(id, root_id_text, {}).status == 201);
    auto waiter = std::async(std::launch::async, [&] {
        http_connection c(server.port());
        return c.request("GET", api.path("/head?wait=30&known=" + root_id_text));
    });
    REQUIRE(wait_for_long_polls(server.port(), 1));  // it waits: the advance below must wake it
    REQUIRE(api.advance(id).status == 204);
    REQUIRE(waiter.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    auto r = waiter.get();
    CHECK(r.status == 200);
    CHECK(text(parse_json(r.body).at("head")) == id);
    CHECK(parse_json(r.body).at("seq").to_number<int>() == 1);
    CHECK(wait_for_long_polls(server.port(), 0));
    // Counted under its own route once answered (the count follows the answer).
    CHECK(wait_for_metric(server.port(), R"(chunklog_requests_total{route="head",status="200"})", 1));
    CHECK(metric(conn, R"(chunklog_requests_total{route="unmatched",status="200"})") == -1);
}

TEST_CASE_FIXTURE(sync_server, "a long poll is woken by a publish") {
    auto waiter = std::async(std::launch::async, [&] {
        http_connection c(server.port());
        return c.request("GET", api.path("/head?wait=30&known=" + root_id_text));
    });
    REQUIRE(wait_for_long_polls(server.port(), 1));
    auto ids = publish_chain(2);
    REQUIRE(waiter.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    auto r = waiter.get();
    CHECK(text(parse_json(r.body).at("head")) == ids.back());
    CHECK(parse_json(r.body).at("seq").to_number<int>() == 2);
    CHECK(metric(conn, "chunklog_head_advances_total") == 1);
    CHECK(metric(conn, "chunklog_transactions_stored_total") == 2);
    CHECK(metric(conn, "chunklog_chunks_stored_total") == 3);
    // The RocksDB store's commit pipeline took the write; PostgreSQL has none.
    auto groups = metric(conn, "chunklog_write_groups_total");
    auto grouped = metric(conn, "chunklog_grouped_writes_total");
    if (on_postgresql()) {
        CHECK(groups == 0);
        CHECK(grouped == 0);
    } else {
        CHECK(grouped == 1);  // the one publish
        CHECK(groups == 1);
    }
}

TEST_CASE("GET log ends a page early at max_log_page_bytes, with at least one transaction") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--max-log-page-bytes", "2500"});
    http_connection conn(server.port());
    user_api api(conn);
    boost::json::array chunks, transactions;
    std::string parent = root_id_text;
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
        auto bytes = std::string(2000, static_cast<char>('a' + i));  // a chunk line is ~2,800 bytes: over the limit alone
        chunks.push_back(boost::json::object{{"id", sha256_hex(bytes)}, {"data", chunklog::base64_encode(bytes)}});
        ids.push_back(random_uuid());
        transactions.push_back(boost::json::object{
            {"id", ids.back()}, {"parent", parent}, {"chunks", boost::json::array{sha256_hex(bytes).c_str()}}});
        parent = ids.back();
    }
    auto body = boost::json::serialize(
        boost::json::object{{"chunks", chunks}, {"transactions", transactions}, {"head", parent}});
    REQUIRE(conn.request("POST", api.path("/publish"), body).status == 200);
    CHECK(parse_json(conn.request("GET", "/limits").body).at("max_log_page_bytes").to_number<int>() == 2500);

    std::vector<std::string> seen;
    std::string from = root_id_text;
    for (bool more = true; more;) {
        auto page = read_log(conn, api.path("/log?limit=100&from=" + from));
        REQUIRE(page.ended);
        CHECK(page.transactions.size() == 1);  // each transaction's chunk alone fills a page
        seen.insert(seen.end(), page.transactions.begin(), page.transactions.end());
        from = page.last;
        more = page.more;
    }
    CHECK(seen == ids);
}

TEST_CASE_FIXTURE(sync_server, "a long poll answers at once when HEAD differs from known, else after the wait") {
    auto stale = api.get("/head?wait=5&known=" + random_uuid());
    CHECK(text(parse_json(stale.body).at("head")) == root_id_text);
    auto timed_out = api.get("/head?wait=1");
    CHECK(timed_out.status == 200);
    CHECK(text(parse_json(timed_out.body).at("head")) == root_id_text);
    for (const char* bad : {"0", "61", "x", "-1", ""})
        CHECK(error_code(api.get(std::string("/head?wait=") + bad)) == "bad_request");
    CHECK(error_code(api.get("/head?wait=2&known=bad")) == "invalid_id");
}

TEST_CASE_FIXTURE(sync_server, "shutdown answers waiting long polls") {
    auto waiter = std::async(std::launch::async, [&] {
        http_connection c(server.port());
        return c.request("GET", api.path("/head?wait=60"));
    });
    REQUIRE(wait_for_long_polls(server.port(), 1));
    CHECK(server.terminate_and_wait(SIGTERM) == 0);
    REQUIRE(waiter.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    CHECK(waiter.get().status == 200);
}

TEST_CASE("GET log streams chunks that are on disk only after a restart") {
    temp_dir dir;
    std::vector<std::string> ids;
    {
        server_process server(dir.path() / "db");
        http_connection conn(server.port());
        user_api api(conn, "0f8fad5b-d9cb-469f-a165-70867728950e");
        std::string parent = root_id_text;
        for (int i = 0; i < 4; ++i) {
            auto bytes = std::string(64 * 1024, static_cast<char>('p' + i));  // blob-file sized
            REQUIRE(api.put_chunk(bytes).status == 201);
            ids.push_back(random_uuid());
            REQUIRE(api.put_transaction(ids.back(), parent, {sha256_hex(bytes)}).status == 201);
            REQUIRE(api.advance(ids.back()).status == 204);
            parent = ids.back();
        }
        REQUIRE(server.terminate_and_wait(SIGTERM) == 0);
    }
    server_process server(dir.path() / "db");  // recovery flushed everything to files; caches are cold
    http_connection conn(server.port());
    user_api api(conn, "0f8fad5b-d9cb-469f-a165-70867728950e");
    auto r = conn.request("GET", api.path("/log"));
    REQUIRE(r.status == 200);
    std::istringstream lines(r.body);
    int chunks = 0;
    for (std::string line; std::getline(lines, line);) {
        auto v = parse_json(line).as_object();
        if (!v.contains("chunk")) continue;
        auto data = chunklog::base64_decode(text(v.at("chunk").at("data")));
        REQUIRE(data);
        CHECK(sha256_hex(*data) == text(v.at("chunk").at("id")));
        ++chunks;
    }
    CHECK(chunks == 4);
    CHECK(read_log(conn, api.path("/log")).transactions == ids);
}

}
