// Task replicas and snapshots against the real chunklogd, with short
// thresholds (--snapshot-after 3, --history-retention 1s): replicas that
// write the snapshots the server asks for while they converge, one of them
// offline across a history truncation, and a new replica that starts from
// the snapshot in one request.
#include "support/outcome_printer.hpp"
#include "support/task_key.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/tasks/replica.hpp>

#include <doctest/doctest.h>

#include <numeric>
#include <random>
#include <thread>

using namespace chunklog;

namespace {

// One random local change, as the CLI would make it.
std::vector<operation> random_change(std::mt19937& rng, const task_set& tasks) {
    static const std::vector<std::string> props{"description", "priority", "project", "status"};
    static const std::vector<std::string> values{"a", "b", "c", "pending", "completed", "deleted"};
    std::int64_t ts = 1000 + static_cast<std::int64_t>(rng() % 5);
    if (tasks.empty() || rng() % 4 == 0) {
        auto id = uuid::random();
        return {operation::create(id), operation::update(id, "description", "new", ts),
                operation::update(id, "status", "pending", ts)};
    }
    auto it = std::next(tasks.begin(), static_cast<std::ptrdiff_t>(rng() % tasks.size()));
    switch (rng() % 8) {
    case 0: return {operation::remove(it->first)};
    case 1: return {operation::update(it->first, props[rng() % props.size()], std::nullopt, ts)};
    default: return {operation::update(it->first, props[rng() % props.size()], values[rng() % values.size()], ts)};
    }
}

struct peer {
    std::string name;
    std::unique_ptr<replica> store;
    std::unique_ptr<client> server;
};

}  // namespace

TEST_SUITE("replica_snapshot_e2e") {

TEST_CASE("replicas converge while writing snapshots, one offline across a truncation, a new one starts from the snapshot") {
    test::temp_dir dir;
    test::server_process server(dir.path() / "db", {"--snapshot-after", "3", "--gc-grace", "1s", "--history-retention",
                                                    "1s", "--gc-interval", "0"});
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(server.port());
    o.user = uuid::random();
    o.token = test::issue_token(server.port(), o.user.to_string());
    auto make = [&](const std::string& name) {
        return peer{name, replica::open(dir.path() / name).value(), std::make_unique<client>(o)};
    };
    std::vector<peer> peers;
    for (const char* name : {"a", "b", "c"}) peers.push_back(make(name));
    std::mt19937 rng(11);
    std::size_t snapshots = 0;
    auto sync = [&](peer& p) {
        auto r = p.store->sync(*p.server, test::task_key());
        REQUIRE(r);
        CHECK_FALSE(r->snapshot_error);
        if (r->snapshot) ++snapshots;
        return *r;
    };
    auto change = [&](peer& p) {
        for (unsigned k = 1 + rng() % 3; k > 0; --k) REQUIRE(p.store->commit(random_change(rng, p.store->tasks().value())));
    };
    auto round = [&](std::size_t count) {
        std::vector<std::size_t> order(count);
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        for (auto i : order) {
            change(peers[i]);
            sync(peers[i]);
        }
    };

    for (int i = 0; i < 3; ++i) round(3);
    const auto c_base = peers[2].store->last_synced().value();

    // c goes offline and keeps working; a and b go on, writing snapshots.
    auto& c = peers[2];
    auto offline_task = uuid::random();
    REQUIRE(c.store->commit({operation::create(offline_task), operation::update(offline_task, "description",
                                                                               "written offline", 2000)}));
    for (int i = 0; i < 8; ++i) {
        change(c);
        round(2);
    }
    CHECK(snapshots > 0);
    auto in_force = peers[0].server->get_snapshot();
    REQUIRE(in_force);
    CHECK(in_force->position.seq > 10);

    // History older than 1 s before the snapshot goes: c's base with it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    test::http_connection admin(server.port());
    REQUIRE(admin.request("POST", "/admin/gc").status == 200);
    auto gone = c.server->pull(c_base, [](const pulled_transaction&) -> outcome<void> { return {}; });
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == errc::history_truncated);
    REQUIRE(gone.error().snapshot);
    CHECK(gone.error().snapshot->seq == in_force->position.seq);

    const auto c_pending = c.store->pending_operations().value();
    REQUIRE(c_pending > 0);
    // c's own random changes may have deleted the task it wrote offline.
    const bool offline_task_kept = c.store->tasks().value().contains(offline_task);
    auto rebuilt = sync(c);
    CHECK(rebuilt.from_snapshot);
    // Every pending operation goes out, but for those that transactions after
    // the snapshot made moot (an update of a task another replica deleted).
    CHECK(rebuilt.published_operations > 0);
    CHECK(rebuilt.published_operations <= c_pending);
    if (rebuilt.pulled_transactions == 0) CHECK(rebuilt.published_operations == c_pending);
    for (int pass = 0; pass < 2; ++pass)
        for (auto& p : peers) sync(p);
    auto expected = peers[0].store->tasks().value();
    for (auto& p : peers) {
        CAPTURE(p.name);
        CHECK(p.store->tasks().value() == expected);
        CHECK(p.store->pending_operations().value() == 0);
    }
    CHECK(expected.contains(offline_task) == offline_task_kept);

    // A new replica: the snapshot and what follows it, in one request.
    auto d = make("d");
    auto head = d.server->head().value();
    auto snapshot = d.server->get_snapshot().value();
    auto requests = d.server->requests_sent();
    auto fresh = sync(d);
    CHECK(fresh.from_snapshot);
    CHECK(fresh.pulled_transactions == head.seq - snapshot.position.seq);
    CHECK(fresh.head == head);
    CHECK(d.server->requests_sent() == requests + 1);
    CHECK(d.store->tasks().value() == expected);

    // And it goes on converging with the others.
    peers.push_back(std::move(d));
    for (int i = 0; i < 3; ++i) round(4);
    for (int pass = 0; pass < 2; ++pass)
        for (auto& p : peers) sync(p);
    expected = peers[0].store->tasks().value();
    for (auto& p : peers) CHECK(p.store->tasks().value() == expected);
}

TEST_CASE("a replica answers Snapshot-Urgency from the real server: high at once, low when idle") {
    constexpr std::uint64_t after = 2;  // --snapshot-after: low from 2 transactions, high from 3
    test::temp_dir dir;
    test::server_process server(dir.path() / "db", {"--snapshot-after", std::to_string(after)});
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(server.port());
    o.user = uuid::random();
    o.token = test::issue_token(server.port(), o.user.to_string());
    client c(o);
    auto r = replica::open(dir.path() / "r").value();
    auto task = uuid::random();
    REQUIRE(r->commit({operation::create(task)}));
    std::int64_t n = 1;
    auto publish_one = [&] {
        ++n;
        REQUIRE(r->commit({operation::update(task, "n", std::to_string(n), n)}));
        auto s = r->sync(c, test::task_key());
        REQUIRE(s);
        CHECK(s->published_operations >= 1);
        return *s;
    };
    for (std::uint64_t i = 1; i < after; ++i) {
        CHECK_FALSE(publish_one().snapshot);
        CHECK(c.last_snapshot_urgency() == snapshot_urgency::none);
    }
    CHECK_FALSE(publish_one().snapshot);  // `after` transactions: low, owed until idle
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::low);
    CHECK(r->snapshot_wanted().value() == snapshot_urgency::low);
    auto idle = r->sync(c, test::task_key()).value();  // nothing to publish: written now
    REQUIRE(idle.snapshot);
    CHECK(idle.snapshot->seq == after);
    CHECK(r->snapshot_wanted().value() == snapshot_urgency::none);
    // 1.5 times `after` transactions since the snapshot: high, written at once.
    constexpr std::uint64_t high = after + (after + 1) / 2;
    for (std::uint64_t i = 1; i <= high; ++i) CHECK(static_cast<bool>(publish_one().snapshot) == (i == high));
    auto stored = c.get_snapshot().value();
    CHECK(stored.position == snapshot_position{r->last_synced().value(), after + high});
    REQUIRE(stored.chunks.size() == 1);
    CHECK(test::snapshot_tasks(test::task_key(), stored.position.transaction, c.get_chunk(stored.chunks[0]).value()) ==
          r->tasks().value());
}

}
