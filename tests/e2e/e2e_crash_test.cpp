// End-to-end: kill -9 the server during a write load, restart it on the same
// directory, and check that every acknowledged write is there and each
// user's chain is consistent.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using namespace chunklog::test;

namespace {

struct acknowledged {
    std::string user;
    std::vector<std::pair<std::string, std::string>> chunks;  // id, bytes
    std::vector<std::string> advances;                        // in order
};

// HEAD advances acknowledged so far, over every writer.
std::atomic<int> advances_acknowledged{0};

// Writes chunk, transaction and HEAD advance in a loop until the server dies.
void write_until_failure(std::uint16_t port, acknowledged& acked, unsigned seed) {
    std::mt19937 rng(seed);
    try {
        http_connection conn(port);
        user_api api(conn, acked.user);
        std::string head = root_id_text;
        for (int i = 0; i < 100000; ++i) {
            std::string bytes(64 + rng() % 4096, static_cast<char>('a' + rng() % 26));
            bytes += std::to_string(rng());
            if (api.put_chunk(bytes).status != 201) return;
            acked.chunks.emplace_back(sha256_hex(bytes), bytes);
            auto id = random_uuid();
            if (api.put_transaction(id, head, {sha256_hex(bytes)}).status != 201) return;
            if (api.advance(id).status != 204) return;
            acked.advances.push_back(id);
            head = id;
            advances_acknowledged.fetch_add(1);
        }
    } catch (const std::exception&) {
        // The server was killed under us: what was acknowledged is recorded.
    }
}

}  // namespace

TEST_SUITE("e2e_crash") {

TEST_CASE("kill -9 during writes loses no acknowledged write") {
    temp_dir dir;
    constexpr int writers = 8;
    std::vector<acknowledged> acked(writers);
    for (auto& a : acked) a.user = random_uuid();
    {
        server_process server(dir.path() / "db");
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w)
            threads.emplace_back(write_until_failure, server.port(), std::ref(acked[w]), 1000u + w);
        // Kill once enough writes are acknowledged (bounded: a writer that
        // failed early shows up in the checks below).
        auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (advances_acknowledged.load() < 200 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        server.kill_hard();
        for (auto& t : threads) t.join();
    }

    server_process server(dir.path() / "db");
    http_connection conn(server.port());
    std::size_t total_chunks = 0, total_advances = 0;
    for (auto& a : acked) {
        user_api api(conn, a.user);
        for (const auto& [id, bytes] : a.chunks) {
            auto r = api.get("/chunks/" + id);
            CHECK(r.status == 200);
            CHECK(r.body == bytes);
        }
        auto chain = api.list(root_id_text, 1000);
        // The chain may hold one more advance than acknowledged (answered
        // after the write but cut off by the kill), never fewer.
        REQUIRE(chain.size() >= a.advances.size());
        CHECK(std::equal(a.advances.begin(), a.advances.end(), chain.begin()));
        CHECK(chain.size() <= a.advances.size() + 1);
        auto summary = parse_json(api.get("/").body);
        CHECK(summary.at("seq").to_number<std::size_t>() == chain.size());
        total_chunks += a.chunks.size();
        total_advances += a.advances.size();
    }
    MESSAGE("acknowledged before the kill: " << total_chunks << " chunks, " << total_advances << " advances");
    CHECK(total_advances >= 200);
}

}
