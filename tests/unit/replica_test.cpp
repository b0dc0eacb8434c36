// Task replicas against the real server: replicas that make random changes
// offline and sync in random orders end with identical tasks.
#include "support/outcome_printer.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/tasks/replica.hpp>

#include <doctest/doctest.h>

#include <random>

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
    client server(o);
    std::vector<replica_node> nodes(3);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].dir = dir.path() / ("r" + std::to_string(i));
        nodes[i].store = std::move(replica::open(nodes[i].dir).value());
    }
    for (int round = 0; round < 4; ++round) {
        for (auto& n : nodes)
            for (unsigned k = rng() % 6; k > 0; --k) REQUIRE(n.store->commit(random_change(rng, n.store->tasks().value())));
        std::shuffle(nodes.begin(), nodes.end(), rng);
        for (auto& n : nodes)
            if (rng() % 3 != 0) REQUIRE(n.store->sync(server));
    }
    for (int pass = 0; pass < 2; ++pass)
        for (auto& n : nodes) REQUIRE(n.store->sync(server));
    auto expected = nodes[0].store->tasks().value();
    for (auto& n : nodes) {
        CHECK(n.store->tasks().value() == expected);
        CHECK(n.store->pending_operations().value() == 0);
    }
}

}  // namespace

TEST_SUITE("replica") {

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
