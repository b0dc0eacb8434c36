// Task replicas against the real server: replicas that make random changes
// offline and sync in random orders end with identical tasks.
#include "support/outcome_printer.hpp"
#include "support/task_key.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/tasks/replica.hpp>

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <random>
#include <thread>

using namespace chunklog;

namespace {

struct replica_node {
    std::filesystem::path dir;
    std::unique_ptr<replica> store;
};

// One random local change, as the CLI would make it (fresh ids for new
// tasks; updates and deletes only of tasks the replica has).
std::vector<operation> random_change(std::mt19937& rng, const task_set& tasks) {
    static const std::vector<std::string> props{"description", "priority", "project", "status"};
    static const std::vector<std::string> values{"a", "b", "c", "pending", "completed", "deleted"};
    std::int64_t ts = 1000 + static_cast<std::int64_t>(rng() % 5);  // few timestamps: many ties
    if (tasks.empty() || rng() % 4 == 0) {
        auto id = uuid::random();
        return {operation::create(id), operation::update(id, "description", "new", ts),
                operation::update(id, "status", "pending", ts)};
    }
    auto it = std::next(tasks.begin(), static_cast<std::ptrdiff_t>(rng() % tasks.size()));
    switch (rng() % 8) {
    case 0: return {operation::remove(it->first)};
    case 1: return {operation::update(it->first, props[rng() % props.size()], std::nullopt, ts)};
    default:
        return {operation::update(it->first, props[rng() % props.size()], values[rng() % values.size()], ts)};
    }
}

void run_convergence(std::uint16_t port, unsigned seed) {
    std::mt19937 rng(seed);
    test::temp_dir dir;
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(port);
    o.user = uuid::random();
    o.token = test::issue_token(port, o.user.to_string());
    client server(o);
    std::vector<replica_node> nodes(3);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].dir = dir.path() / ("r" + std::to_string(i));
        nodes[i].store = replica::open(nodes[i].dir).value();
    }
    for (int round = 0; round < 4; ++round) {
        for (auto& n : nodes)
            for (unsigned k = rng() % 6; k > 0; --k) REQUIRE(n.store->commit(random_change(rng, n.store->tasks().value())));
        std::shuffle(nodes.begin(), nodes.end(), rng);
        for (auto& n : nodes)
            if (rng() % 3 != 0) REQUIRE(n.store->sync(server, test::task_key()));
    }
    for (int pass = 0; pass < 2; ++pass)
        for (auto& n : nodes) REQUIRE(n.store->sync(server, test::task_key()));
    auto expected = nodes[0].store->tasks().value();
    for (auto& n : nodes) {
        CHECK(n.store->tasks().value() == expected);
        CHECK(n.store->pending_operations().value() == 0);
    }
}

// Writes `value` under `key` straight into a closed replica's RocksDB, as a
// damaged disk or another program would.
void poke(const std::filesystem::path& dir, const std::string& key, const std::string& value) {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options{}, dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions{}, key, value).ok());
}

// A client of a server that is not there: a sync that gets as far as the
// network fails with errc::network, not with the error under test.
client offline_client() {
    client_options o;
    o.server_url = "http://127.0.0.1:1";
    o.user = uuid::random();
    o.retries = 0;
    return client(o);
}

template <typename T>
std::optional<error> error_of(const outcome<T>& r) {
    if (r) return std::nullopt;
    return r.error();
}

struct damage {
    std::string what;
    std::string key;
    std::string value;
    std::function<std::optional<error>(replica&)> probe;  // a call that must now fail
};

std::vector<damage> damages(const uuid& task) {
    auto task_key = "t" + std::string(task.raw());
    auto working_set = [](replica& r) { return error_of(r.working_set()); };
    auto sync = [](replica& r) {
        auto c = offline_client();
        return error_of(r.sync(c, test::task_key()));
    };
    auto tasks = [](replica& r) { return error_of(r.tasks()); };
    auto one_task = [task](replica& r) { return error_of(r.task(task)); };
    auto commit = [task](replica& r) { return error_of(r.commit({operation::update(task, "p", "v", 5)})); };
    return {
        {"a working set that is not JSON", "w", "[\"abc", working_set},
        {"a working set that is an object", "w", "{}", working_set},
        {"a working set holding a malformed id", "w", R"(["nope"])", commit},
        {"a publish in flight that is not JSON", "f", "{", sync},
        {"a publish in flight without a count", "f", R"({"id":"6f9619ff-8b86-4d01-b42d-00c04fc964ff"})", sync},
        {"a publish in flight with a malformed id", "f", R"({"id":"x","count":1})", sync},
        {"a last synced id of the wrong size", "b", "short", [](replica& r) { return error_of(r.last_synced()); }},
        {"a last synced id of the wrong size, when syncing", "b", "short", sync},
        {"an unsynced operation that is not JSON", "o" + std::string(8, '\0'), "garbage", sync},
        {"an unsynced operation of an unknown kind", "o" + std::string(8, '\0'),
         R"({"op":"fly","task":"6f9619ff-8b86-4d01-b42d-00c04fc964ff"})", sync},
        {"an unsynced operation's key of the wrong size", "oshort", R"({"op":"create","task":"6f9619ff-8b86-4d01-b42d-00c04fc964ff"})",
         [](replica& r) { return error_of(r.pending_operations()); }},
        {"a snapshot asked for that is neither low nor high", "u", "urgent",
         [](replica& r) { return error_of(r.snapshot_wanted()); }},
        {"a task that is not JSON", task_key, "{", one_task},
        {"a task property that is not a string", task_key, R"({"status":5})", tasks},
        {"a task property that is not a string, on commit", task_key, R"({"status":5})", commit},
        {"a task key of the wrong size", "tshort", "{}", tasks},
    };
}

}  // namespace

TEST_SUITE("replica") {

TEST_CASE("a replica whose local state is corrupt reports errors, never throws") {
    auto task = uuid::random();
    for (const auto& d : damages(task)) {
        CAPTURE(d.what);
        test::temp_dir dir;
        {
            auto r = replica::open(dir.path()).value();
            REQUIRE(r->commit({operation::create(task), operation::update(task, "status", "pending", 1)}));
        }
        poke(dir.path(), d.key, d.value);
        auto r = replica::open(dir.path()).value();
        std::optional<error> e;
        CHECK_NOTHROW(e = d.probe(*r));
        CHECK(e);
        if (!e) continue;
        CHECK(e->code == errc::internal);
        CHECK(e->message.find("corrupt replica") != std::string::npos);
    }
}

TEST_CASE("sync reports the seq of HEAD, also when there was nothing to do") {
    test::temp_dir dir;
    test::server_process server(dir.path() / "db");
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(server.port());
    o.user = uuid::random();
    o.token = test::issue_token(server.port(), o.user.to_string());
    client c(o);
    auto a = replica::open(dir.path() / "a").value();
    auto b = replica::open(dir.path() / "b").value();
    auto id = uuid::random();
    for (int i = 0; i < 2; ++i) {
        REQUIRE(a->commit({operation::update(id, "n", std::to_string(i), i + 1)}));
        REQUIRE(a->sync(c, test::task_key()).value().head.seq == static_cast<std::uint64_t>(i + 1));  // published
    }
    auto pulled = b->sync(c, test::task_key()).value();  // pulls both, publishes nothing
    CHECK(pulled.pulled_transactions == 2);
    CHECK(pulled.head == c.head().value());
    auto idle = b->sync(c, test::task_key()).value();  // nothing at all to do
    CHECK(idle.pulled_transactions == 0);
    CHECK(idle.head == c.head().value());
    CHECK(idle.head.seq == 2);
}

TEST_CASE("a replica whose LOCK file cannot be opened fails at once instead of waiting for a lock") {
    test::temp_dir dir;
    std::filesystem::create_directories(dir.path() / "LOCK");  // a directory where RocksDB wants its lock file
    auto started = std::chrono::steady_clock::now();
    auto r = replica::open(dir.path(), std::chrono::seconds(5));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::internal);  // not errc::unavailable after the wait
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

// Run as a child process (this binary again) by the next test: holds the
// replica named by CHUNKLOG_TEST_HOLD_REPLICA until its stdin closes. Does
// nothing when run as a test of its own.
TEST_CASE("replica lock holder (a helper process)") {
    const char* dir = std::getenv("CHUNKLOG_TEST_HOLD_REPLICA");
    if (dir == nullptr) return;
    auto held = replica::open(dir).value();
    std::ofstream(std::string(dir) + ".held") << "held\n";
    for (std::string line; std::getline(std::cin, line);) {
    }
}

TEST_CASE("a replica held by another process is waited for, and opens once released") {
    test::temp_dir tmp;
    auto dir = tmp.path() / "r";
    REQUIRE(replica::open(dir));
    auto command = "CHUNKLOG_TEST_HOLD_REPLICA=" + dir.string() + " " +
                   std::filesystem::read_symlink("/proc/self/exe").string() +
                   " -tc='replica lock holder*' >/dev/null 2>&1";
    FILE* holder = ::popen(command.c_str(), "w");
    REQUIRE(holder != nullptr);
    bool held = false;
    for (int i = 0; i < 3000 && !held; ++i) {  // bounded: up to 30 s
        held = std::filesystem::exists(dir.string() + ".held");
        if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(held);
    auto busy = replica::open(dir, std::chrono::milliseconds(100));
    REQUIRE_FALSE(busy);
    CHECK(busy.error().code == errc::unavailable);
    auto later = std::async(std::launch::async, [&] { return replica::open(dir, std::chrono::seconds(30)); });
    ::pclose(holder);  // the holder closes the replica and exits
    CHECK(later.get().has_value());
}


TEST_CASE("replicas editing offline converge, for many seeds") {
    test::temp_dir dir;
    test::server_process server(dir.path() / "db");
    for (unsigned seed = 1; seed <= 25; ++seed) {
        CAPTURE(seed);
        run_convergence(server.port(), seed);
    }
}

TEST_CASE("a local change survives reopening, and the working set numbers stay stable") {
    test::temp_dir dir;
    auto a = uuid::random(), b = uuid::random();
    {
        auto r = replica::open(dir.path()).value();
        REQUIRE(r->commit({operation::create(a), operation::update(a, "status", "pending", 1)}));
        REQUIRE(r->commit({operation::create(b), operation::update(b, "status", "pending", 1)}));
    }
    auto r = replica::open(dir.path()).value();
    CHECK(r->working_set().value() == std::vector<std::optional<uuid>>{a, b});
    REQUIRE(r->commit({operation::update(a, "status", "completed", 2)}));
    CHECK(r->working_set().value() == std::vector<std::optional<uuid>>{std::nullopt, b});  // b keeps number 2
    CHECK(r->pending_operations().value() == 5);
    CHECK(r->task(a).value()->at("status") == "completed");
}

TEST_CASE("a second process waits for the replica lock, then gives up with a clear error") {
    test::temp_dir dir;
    auto held = replica::open(dir.path()).value();
    auto second = replica::open(dir.path(), std::chrono::milliseconds(200));
    REQUIRE_FALSE(second);
    CHECK(second.error().code == errc::unavailable);
}

}
