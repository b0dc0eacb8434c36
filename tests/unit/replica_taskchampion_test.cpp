// The task replica in TaskChampion's formats against the real chunklogd:
// every transaction it publishes is one sealed version bound to its parent,
// big batches become several versions, a wrong encryption secret is refused
// before anything changes, a log in the legacy plaintext format is read and
// moved to the new format with a snapshot at HEAD, and a log holding data
// that is not a task list gets an error naming the transaction.
#include "support/outcome_printer.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/task_key.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/tasks/replica.hpp>

#include <doctest/doctest.h>

using namespace chunklog;

namespace {

struct live_user {
    test::temp_dir dir;
    test::server_process server{dir.path() / "db"};
    client c;

    live_user() : c(options()) {}

    client_options options() const {
        client_options o;
        o.server_url = "http://127.0.0.1:" + std::to_string(server.port());
        o.user = uuid::random();
        o.token = test::issue_token(server.port(), o.user.to_string());
        return o;
    }
    std::unique_ptr<replica> open(const std::string& name) { return replica::open(dir.path() / name).value(); }

    // Every committed transaction with its one chunk, in order.
    std::vector<std::pair<transaction_record, std::string>> log() {
        std::vector<std::pair<transaction_record, std::string>> out;
        REQUIRE(c.pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
            REQUIRE(t.chunks.size() == 1);
            out.emplace_back(t.record, std::string(t.chunks[0]));
            return {};
        }));
        return out;
    }
};

std::vector<operation> new_task(const uuid& id, const std::string& description, std::int64_t ts) {
    return {operation::create(id), operation::update(id, "description", description, ts),
            operation::update(id, "status", "pending", ts)};
}

}  // namespace

TEST_SUITE("replica_taskchampion") {

TEST_CASE_FIXTURE(live_user, "each published transaction is one sealed version bound to its parent") {
    auto a = open("a");
    auto milk = uuid::random();
    REQUIRE(a->commit(new_task(milk, "buy milk", 1'700'000'000'123'456'789)));
    REQUIRE(a->sync(c, test::task_key()));
    REQUIRE(a->commit({operation::update(milk, "priority", "H", 1'700'000'001'000'000'000)}));
    REQUIRE(a->sync(c, test::task_key()));
    auto versions = log();
    REQUIRE(versions.size() == 2);
    CHECK(test::version_operations(test::task_key(), root_id, versions[0].second) ==
          new_task(milk, "buy milk", 1'700'000'000'123'456'789));
    CHECK(test::version_operations(test::task_key(), versions[0].first.id, versions[1].second) ==
          std::vector<operation>{operation::update(milk, "priority", "H", 1'700'000'001'000'000'000)});
    CHECK(versions[1].second.find("milk") == std::string::npos);  // ciphertext only
    // Sealed to its parent: it does not open as the child of another.
    CHECK_FALSE(test::task_key().open(versions[1].second, root_id));
}

TEST_CASE_FIXTURE(live_user, "operations past 1 MB go out as several versions in one publish, and another replica reads them all") {
    auto a = open("a"), b = open("b");
    std::vector<operation> ops;
    for (int i = 0; i < 3; ++i) {
        auto id = uuid::random();
        ops.push_back(operation::create(id));
        ops.push_back(operation::update(id, "annotation_" + std::to_string(i), std::string(450'000, 'a' + i), i + 1));
    }
    REQUIRE(a->commit(ops));
    auto report = a->sync(c, test::task_key());
    REQUIRE(report);
    CHECK(report->published_operations == ops.size());
    CHECK(report->head.seq == 2);  // 900 KB then 450 KB of operation JSON
    CHECK(log().size() == 2);
    REQUIRE(b->sync(c, test::task_key()));
    CHECK(b->tasks().value() == a->tasks().value());
    CHECK(a->pending_operations().value() == 0);
}

TEST_CASE_FIXTURE(live_user, "a replica with another encryption secret is refused before anything changes") {
    auto a = open("a"), b = open("b");
    REQUIRE(a->commit(new_task(uuid::random(), "secret plans", 5)));
    REQUIRE(a->sync(c, test::task_key()));
    REQUIRE(b->commit(new_task(uuid::random(), "b's own", 6)));
    auto wrong = sealing_key::derive("another secret", uuid::random());
    auto refused = b->sync(c, wrong);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("does not decrypt") != std::string::npos);
    CHECK(refused.error().message.find("encryption secret") != std::string::npos);
    CHECK(b->last_synced().value() == root_id);
    CHECK(b->pending_operations().value() == 3);
    CHECK(b->tasks().value().size() == 1);
    REQUIRE(b->sync(c, test::task_key()));  // with the right one it goes on
    CHECK(b->tasks().value().size() == 2);
}

TEST_CASE_FIXTURE(live_user, "a log in the legacy plaintext format is read and moved to the new format with a snapshot at HEAD") {
    auto milk = uuid::random();
    auto legacy = encode_operations(new_task(milk, "buy milk", 1'000'000));
    transaction_record t{uuid::random(), root_id, 0, {sha256_of(legacy)}};
    REQUIRE(c.publish({{legacy}, {t}, t.id}));

    auto a = open("a");
    auto report = a->sync(c, test::task_key());
    REQUIRE(report);
    CHECK(a->tasks().value().at(milk).at("description") == "buy milk");
    REQUIRE(report->snapshot);
    CHECK(report->snapshot->transaction == t.id);
    auto stored = c.get_snapshot().value();
    REQUIRE(stored.chunks.size() == 1);
    CHECK(test::snapshot_tasks(test::task_key(), t.id, c.get_chunk(stored.chunks[0]).value()) == a->tasks().value());
    // A new replica starts from that snapshot and never reads the old format.
    auto b = open("b");
    auto fresh = b->sync(c, test::task_key());
    REQUIRE(fresh);
    CHECK(fresh->from_snapshot);
    CHECK(b->tasks().value() == a->tasks().value());
}

TEST_CASE_FIXTURE(live_user, "a log holding data that is not a task list names the transaction and what to do") {
    std::string bytes = "a file pushed with chunklog push";
    transaction_record t{uuid::random(), root_id, 0, {sha256_of(bytes)}};
    REQUIRE(c.publish({{bytes}, {t}, t.id}));
    auto a = open("a");
    REQUIRE(a->commit(new_task(uuid::random(), "mine", 1)));
    auto refused = a->sync(c, test::task_key());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("transaction " + t.id.to_string()) != std::string::npos);
    CHECK(refused.error().message.find("not a task list") != std::string::npos);
    CHECK(refused.error().message.find("--user") != std::string::npos);
    CHECK(a->pending_operations().value() == 3);  // nothing lost
}

TEST_CASE_FIXTURE(live_user, "a first version sent after another server's chain is opened with its origin parent") {
    // Taskwarrior moving from another server keeps its chain of ids: its
    // first version here names a parent this server never saw, and is sealed
    // to it.
    auto origin = uuid::random(), milk = uuid::random();
    auto sealed = test::task_key().seal(encode_history_segment(new_task(milk, "buy milk", 5)), origin);
    test::http_connection tc(server.port());
    auto added = tc.request("POST", "/v1/client/add-version/" + origin.to_string(), sealed,
                            {{"X-Client-Id", c.options().user.to_string()},
                             {"Content-Type", "application/vnd.taskchampion.history-segment"}});
    REQUIRE(added.status == 200);
    auto a = open("a");
    REQUIRE(a->sync(c, test::task_key()));
    CHECK(a->tasks().value().at(milk).at("description") == "buy milk");
}

}  // TEST_SUITE
