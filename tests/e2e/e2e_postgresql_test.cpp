// End-to-end on PostgreSQL, whatever store the rest of the suite runs on:
// several chunklogd nodes on one database (racing clients, a long poll
// woken across nodes, a node killed with kill -9), and a database that goes
// away under load and comes back. Needs CHUNKLOG_TEST_POSTGRES (scripts/test.sh
// sets it); the restart test starts a cluster of its own.
#include "support/command.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

using namespace chunklog::test;

namespace {

// Two nodes on the schema of `dir`, each with its own data directory (its
// admin token) and --auth none, so clients may use either.
struct two_nodes {
    temp_dir dir;
    std::string store = "postgresql:" + postgresql_conninfo(dir.path() / "shared");
    server_process a{dir.path() / "a", {"--store", store, "--auth", "none"}};
    server_process b{dir.path() / "b", {"--store", store, "--auth", "none"}};
};

// The committed chain from ROOT, read through `port`.
std::vector<std::string> chain_of(std::uint16_t port, const std::string& user) {
    http_connection conn(port);
    user_api api(conn, user);
    std::vector<std::string> chain;
    for (std::string from = root_id_text;;) {
        auto page = api.list(from, 1000);
        if (page.empty()) return chain;
        chain.insert(chain.end(), page.begin(), page.end());
        from = page.back();
    }
}

// publish_one's answer: 200 with HEAD the new transaction.
bool published(const http_reply& r, const std::string& id) {
    return r.status == 200 && text(parse_json(r.body).at("head")) == id;
}

}  // namespace

TEST_SUITE("e2e_postgresql") {

TEST_CASE_FIXTURE(two_nodes, "clients racing one user through two nodes: the chain is exactly the advances that won") {
    const std::string user = random_uuid();
    std::mutex mutex;
    std::set<std::string> won;
    std::atomic<int> server_errors{0}, conflicts{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
        clients.emplace_back([&, c] {
            http_connection conn(c % 2 == 0 ? a.port() : b.port());
            user_api api(conn, user);
            for (int i = 0; i < 20; ++i) {
                auto id = random_uuid();
                auto r = api.publish_one(id, api.head(), "chunk " + id);
                if (r.status >= 500) ++server_errors;
                if (r.status == 409) ++conflicts;
                if (published(r, id)) {
                    std::lock_guard lock(mutex);
                    won.insert(id);
                }
            }
        });
    }
    for (auto& t : clients) t.join();
    auto through_a = chain_of(a.port(), user);
    CHECK(server_errors == 0);
    CHECK(std::set<std::string>(through_a.begin(), through_a.end()) == won);
    CHECK(through_a.size() == won.size());
    CHECK(chain_of(b.port(), user) == through_a);
    CHECK(conflicts > 0);  // the nodes did race
    MESSAGE("advances won: " << won.size() << ", conflicts: " << conflicts.load());
}

TEST_CASE_FIXTURE(two_nodes, "a long poll on one node is woken by a publish through the other") {
    http_connection conn_a(a.port()), conn_b(b.port());
    user_api on_a(conn_a), on_b(conn_b, on_a.user());
    auto waiter = std::async(std::launch::async, [&] {
        http_connection c(b.port());
        return c.request("GET", on_b.path("/head?wait=60&known=" + root_id_text));
    });
    REQUIRE(wait_for_metric(b.port(), "chunklog_long_polls_waiting", 1));
    auto id = random_uuid();
    auto started = std::chrono::steady_clock::now();
    REQUIRE(published(on_a.publish_one(id, root_id_text, "across nodes"), id));
    // Well before the listener's periodic re-check: the notification woke it.
    REQUIRE(waiter.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    auto r = waiter.get();
    CHECK(r.status == 200);
    CHECK(text(parse_json(r.body).at("head")) == id);
    MESSAGE("woken after " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count() << " ms");
}

TEST_CASE_FIXTURE(two_nodes, "kill -9 of a node during publishes loses no acknowledged write: the other node has them all") {
    const std::string user = random_uuid();
    std::mutex mutex;
    std::vector<std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
        writers.emplace_back([&] {
            try {
                http_connection conn(a.port());
                user_api api(conn, user);
                while (!stop) {
                    auto id = random_uuid();
                    auto r = api.publish_one(id, api.head(), "acknowledged " + id);
                    if (published(r, id)) {
                        std::lock_guard lock(mutex);
                        acknowledged.push_back(id);
                    }
                }
            } catch (const std::exception&) {
                // The node was killed under us: what was acknowledged is recorded.
            }
        });
    }
    REQUIRE(wait_until([&] {
        std::lock_guard lock(mutex);
        return acknowledged.size() >= 40;
    }));
    a.kill_hard();
    stop = true;
    for (auto& t : writers) t.join();
    auto chain = chain_of(b.port(), user);
    std::set<std::string> committed(chain.begin(), chain.end());
    for (const auto& id : acknowledged) CHECK_MESSAGE(committed.contains(id), "acknowledged " << id << " is missing");
    MESSAGE(acknowledged.size() << " acknowledged before the kill, " << chain.size() << " committed");
}

TEST_CASE("a token revoked through one node is refused by the other at once, whatever its cache's ttl") {
    temp_dir dir;
    auto store = "postgresql:" + postgresql_conninfo(dir.path() / "shared");
    // Both nodes trust a verified token for an hour: only the revocation's notice can make b refuse it.
    std::vector<std::string> args{"--store", store, "--token-cache-ttl", "1h"};
    server_process a(dir.path() / "a", args);
    auto with_admin = args;
    with_admin.insert(with_admin.end(), {"--admin-token-file", (dir.path() / "a" / "admin-token").string()});
    server_process b(dir.path() / "b", with_admin);
    const std::string user = random_uuid();
    auto issued = http_call(a.port(), "POST", "/0.1/" + user + "/tokens", "{}");
    REQUIRE(issued.status == 201);
    auto token = text(parse_json(issued.body).at("token"));
    auto id = text(parse_json(issued.body).at("id"));
    header_list bearer{{"Authorization", "Bearer " + token}};
    REQUIRE(http_call(b.port(), "GET", "/0.1/" + user + "/head", {}, bearer).status == 200);  // now in b's cache
    REQUIRE(http_call(a.port(), "DELETE", "/0.1/" + user + "/tokens/" + id).status == 204);
    CHECK(wait_until([&] { return http_call(b.port(), "GET", "/0.1/" + user + "/head", {}, bearer).status == 401; },
                     std::chrono::seconds(5)));
}

TEST_CASE("the database restarting under load: 503 while it is down, nothing acknowledged lost, recovery by itself") {
    temp_dir dir;
    const std::string cluster_script = std::string(CHUNKLOG_SOURCE_DIR) + "/scripts/pg-cluster.sh";
    auto cluster = dir.path() / "cluster";
    auto started = run_command("bash " + cluster_script + " start " + cluster.string() + " 2>/dev/null");
    REQUIRE(started.exit == 0);
    auto conninfo = started.out.substr(0, started.out.find('\n'));
    struct cluster_guard {
        std::string stop;
        ~cluster_guard() { (void)std::system(stop.c_str()); }
    } removed_at_end{"bash " + cluster_script + " stop " + cluster.string() + " >/dev/null 2>&1"};

    server_process server(dir.path() / "node", {"--store", "postgresql:" + conninfo, "--auth", "none"});
    const std::string user = random_uuid();
    std::mutex mutex;
    std::vector<std::string> acknowledged;
    std::atomic<int> unavailable{0}, other_errors{0};
    std::atomic<bool> stop{false};
    auto writer = std::thread([&] {
        http_connection conn(server.port());
        user_api api(conn, user);
        while (!stop) {
            auto head = api.get("/head");
            if (head.status != 200) {
                head.status == 503 ? ++unavailable : ++other_errors;
                continue;
            }
            auto id = random_uuid();
            auto r = api.publish_one(id, text(parse_json(head.body).at("head")), "survives " + id);
            if (published(r, id)) {
                std::lock_guard lock(mutex);
                acknowledged.push_back(id);
            } else if (r.status == 503) {
                ++unavailable;
                CHECK(!r.header("retry-after").empty());
            } else if (r.status != 409) {
                ++other_errors;
            }
        }
    });
    auto acknowledged_count = [&] {
        std::lock_guard lock(mutex);
        return acknowledged.size();
    };
    REQUIRE(wait_until([&] { return acknowledged_count() >= 20; }));
    REQUIRE(run_command("bash " + cluster_script + " halt " + cluster.string() + " 2>&1").exit == 0);
    CHECK(wait_until([&] { return unavailable > 0; }));
    auto before_resume = acknowledged_count();
    REQUIRE(run_command("bash " + cluster_script + " resume " + cluster.string() + " 2>&1").exit == 0);
    CHECK(wait_until([&] { return acknowledged_count() >= before_resume + 20; }));
    stop = true;
    writer.join();
    CHECK(other_errors == 0);
    auto chain = chain_of(server.port(), user);
    std::set<std::string> committed(chain.begin(), chain.end());
    for (const auto& id : acknowledged) CHECK_MESSAGE(committed.contains(id), "acknowledged " << id << " is missing");
    MESSAGE(acknowledged.size() << " acknowledged, " << unavailable.load() << " answers 503 while the database was down");
}

}
