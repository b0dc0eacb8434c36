// End-to-end: many clients race to advance one user's HEAD. The committed
// chain must be exactly the set of advances answered 204, and nothing 5xx.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace chunklog::test;

TEST_SUITE("e2e_race") {

TEST_CASE("racing HEAD advances: the chain equals the set of 204s") {
    temp_dir dir;
    server_process server(dir.path() / "db");
    const std::string user = random_uuid();
    constexpr int clients = 16;
    constexpr int attempts = 25;

    std::mutex mutex;
    std::set<std::string> won;
    std::atomic<int> conflicts{0}, server_errors{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            http_connection conn(server.port());
            user_api api(conn, user);
            for (int i = 0; i < attempts; ++i) {
                auto id = random_uuid();
                auto created = api.put_transaction(id, api.head(), {});
                if (created.status >= 500) ++server_errors;
                if (created.status != 201) continue;
                auto r = api.advance(id);
                if (r.status >= 500) ++server_errors;
                if (r.status == 409) ++conflicts;
                if (r.status == 204) {
                    std::lock_guard lock(mutex);
                    won.insert(id);
                }
            }
        });
    }
    for (auto& t : threads) t.join();

    http_connection conn(server.port());
    user_api api(conn, user);
    std::vector<std::string> chain;
    for (std::string from = root_id_text;;) {
        auto page = api.list(from, 1000);
        if (page.empty()) break;
        chain.insert(chain.end(), page.begin(), page.end());
        from = page.back();
    }
    CHECK(server_errors == 0);
    CHECK(std::set<std::string>(chain.begin(), chain.end()) == won);
    CHECK(chain.size() == won.size());
    CHECK(won.size() >= 1);
    MESSAGE("advances won: " << won.size() << ", conflicts: " << conflicts.load());
    // The chain is parent-linked from ROOT.
    std::string parent = root_id_text;
    for (const auto& id : chain) {
        auto t = parse_json(api.get("/transactions/" + id).body);
        CHECK(text(t.at("parent")) == parent);
        parent = id;
    }
}

}
