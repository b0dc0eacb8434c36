// The PostgreSQL store's own parts, whatever store the rest of the suite
// runs on: the one-round-trip publish (chunklog_publish_one) against the
// RocksDB store's answers, the function's refusals, and the schema's
// upgrade and refusal. Needs CHUNKLOG_TEST_POSTGRES (scripts/test.sh sets it).
#include "support/outcome_printer.hpp"
#include "support/store_fixture.hpp"

#include "storage/postgresql/pg.hpp"
#include "storage/postgresql/store_notifier.hpp"

#include <chunklog/sha256.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using storage::new_transaction;
using storage::publish_request;

namespace {

std::unique_ptr<storage::log_store> open_store(storage::store_options options) {
    auto opened = storage::log_store::open(options);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message));
    return std::move(*opened);
}

std::unique_ptr<storage::log_store> open_postgresql(const std::string& conninfo,
                                                    storage::store_options options = {}) {
    options.kind = storage::store_kind::postgresql;
    options.connection = conninfo;
    return open_store(options);
}

std::unique_ptr<storage::pg::connection> connect(const std::string& conninfo) {
    auto c = storage::pg::connection::open(conninfo);
    REQUIRE(c.has_value());
    return std::move(*c);
}

std::int64_t query_number(storage::pg::connection& c, const char* sql) {
    auto r = c.run(sql);
    REQUIRE(r.has_value());
    REQUIRE(r->rows() == 1);
    return r->i64(0, 0);
}

// Both answers agree: the same result, or the same error (code, missing chunks, HEAD).
template <typename T>
void check_same(const outcome<T>& rocks, const outcome<T>& postgres, int step) {
    INFO("step " << step);
    REQUIRE(rocks.has_value() == postgres.has_value());
    if (!rocks) {
        CHECK(rocks.error().code == postgres.error().code);
        CHECK(rocks.error().missing == postgres.error().missing);
        CHECK(rocks.error().head == postgres.error().head);
        return;
    }
    if constexpr (std::is_same_v<T, storage::publish_result>) {
        CHECK(rocks->before == postgres->before);
        CHECK(rocks->after == postgres->after);
        CHECK(rocks->head_advanced == postgres->head_advanced);
        CHECK(rocks->chunks_created == postgres->chunks_created);
        CHECK(rocks->chunk_bytes_created == postgres->chunk_bytes_created);
        CHECK(rocks->transactions_created == postgres->transactions_created);
    }
}

// Random publishes of every shape the one-round-trip path takes or hands on:
// new transactions on HEAD (with new, repeated, re-sent, unreferenced and
// earlier chunks), on a stale parent, with a wrong seq, with a chunk nobody
// stored, past the quota, and whole requests sent again.
struct publish_script {
    std::mt19937 random{20261201};
    std::vector<digest> stored;
    std::vector<std::pair<digest, std::string>> all_chunks;
    std::vector<publish_request> sent;
    uuid head = root_id;
    std::uint64_t seq = 0;
    unsigned next_id = 1;

    std::pair<digest, std::string> new_chunk() {
        std::string bytes(40 + random() % 400, static_cast<char>('a' + random() % 26));
        bytes += std::to_string(next_id++);
        return {sha256_of(bytes), bytes};
    }

    publish_request next() {
        auto roll = random() % 100;
        if (roll < 8 && !sent.empty()) return sent[random() % sent.size()];  // sent again
        publish_request r;
        new_transaction t{make_id(next_id++), head, std::nullopt, {}};
        for (unsigned n = random() % 3; n-- > 0;) {
            auto c = new_chunk();
            t.chunks.push_back(c.first);
            r.chunks.push_back(c);
            all_chunks.push_back(c);
        }
        if (!all_chunks.empty() && roll % 3 == 0) {  // an earlier chunk, carried again or not
            auto& earlier = all_chunks[random() % all_chunks.size()];
            t.chunks.push_back(earlier.first);
            if (roll % 2 == 0) r.chunks.push_back(earlier);
        }
        if (!r.chunks.empty() && roll % 5 == 0) r.chunks.push_back(r.chunks.front());  // a repeat
        if (roll % 7 == 0) r.chunks.push_back(new_chunk());                            // not referenced
        if (roll % 11 == 0) t.chunks.push_back(t.chunks.empty() ? sha256_of("x") : t.chunks.front());
        if (roll >= 90) t.chunks.push_back(new_chunk().first);  // nobody stored it
        if (roll >= 80 && roll < 85) t.seq = seq + 1;
        if (roll >= 85 && roll < 88) t.seq = seq + 2;
        if (roll >= 88 && roll < 90 && seq > 0) t.parent = make_id(1);  // a stale parent
        r.head = t.id;
        r.transactions.push_back(std::move(t));
        sent.push_back(r);
        return r;
    }

    void applied(const storage::publish_result& result) {
        head = result.after.head;
        seq = result.after.seq;
    }
};

}  // namespace

TEST_SUITE("postgresql_store") {

TEST_CASE("the one-round-trip publish answers exactly what the RocksDB store answers") {
    test::temp_dir dir;
    storage::store_options options;
    options.dir = dir.path() / "rocksdb";
    options.snapshot_after = 12;  // the urgency changes often
    auto rocks = open_store(options);
    auto postgres = open_postgresql(test::postgresql_conninfo(dir.path() / "postgresql"), options);
    const uuid user = make_id(0x5e);
    REQUIRE(rocks->set_quota(user, 60'000));
    REQUIRE(postgres->set_quota(user, 60'000));

    publish_script script;
    int advanced = 0;
    for (int step = 0; step < 400; ++step) {
        auto request = script.next();
        auto a = rocks->publish(user, request);
        auto b = postgres->publish(user, request);
        check_same(a, b, step);
        if (a && b) {
            script.applied(*a);
            advanced += a->head_advanced;
            // The urgency the publish learned on the way is the one a read gives.
            if (b->urgency) CHECK(*b->urgency == *rocks->urgency(user));
        }
        if (step % 40 == 39 && script.seq > 0) {  // a snapshot now and then: the urgency counts from it
            check_same(rocks->put_snapshot(user, script.head, {}), postgres->put_snapshot(user, script.head, {}), step);
            CHECK(*rocks->urgency(user) == *postgres->urgency(user));
        }
    }
    CHECK(advanced > 100);
    CHECK(*rocks->urgency(user) == *postgres->urgency(user));  // most steps advanced, and the quota stopped some near the end

    auto sa = rocks->summary(user), sb = postgres->summary(user);
    REQUIRE(sa);
    REQUIRE(sb);
    CHECK(sa->head == sb->head);
    CHECK(sa->chunks == sb->chunks);
    CHECK(sa->bytes == sb->bytes);
    auto la = rocks->list_committed(user, root_id, 1000), lb = postgres->list_committed(user, root_id, 1000);
    REQUIRE(la);
    REQUIRE(lb);
    CHECK(la->ids == lb->ids);
    for (const auto& id : la->ids) {
        auto ta = rocks->committed_transaction(user, id), tb = postgres->committed_transaction(user, id);
        REQUIRE(ta);
        REQUIRE(tb);
        REQUIRE(*ta);
        REQUIRE(*tb);
        CHECK((*ta)->chunks == (*tb)->chunks);
    }
    for (const auto& [id, bytes] : script.all_chunks) {
        auto ca = rocks->chunk(user, id), cb = postgres->chunk(user, id);
        REQUIRE(ca);
        REQUIRE(cb);
        CHECK(*ca == *cb);
    }
}

TEST_CASE("chunklog_publish_one writes nothing when it cannot do the publish, and does it when it can") {
    test::temp_dir dir;
    auto conninfo = test::postgresql_conninfo(dir.path() / "postgresql");
    auto store = open_postgresql(conninfo);
    const uuid user = make_id(0x51);
    auto chunk = sha256_of("first");
    publish_request first{{{chunk, "first"}}, {{make_id(1), root_id, std::nullopt, {chunk}}}, make_id(1)};
    REQUIRE(store->publish(user, first));

    auto c = connect(conninfo);
    auto call = [&](const uuid& tx, const uuid& parent, std::string_view other) {
        std::vector<std::string_view> none, others;
        if (!other.empty()) others.push_back(other);
        auto r = c->run("SELECT status FROM chunklog_publish_one($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        storage::pg::params().add(user).add(std::int64_t{1}).add(std::int64_t{0})
                            .add_bytes_array(none).add_bytes_array(none).add_array(std::span<const std::int64_t>{})
                            .add(tx).add(parent).add_null().add_bytes(other).add_bytes_array(others));
        REQUIRE(r.has_value());
        return r->i32(0, 0);
    };
    auto rows = [&] { return query_number(*c, "SELECT count(*) FROM chunklog_transactions"); };
    CHECK(call(make_id(2), make_id(9), "") == 1);                    // HEAD is not its parent
    CHECK(call(make_id(1), make_id(1), "") == 1);                    // it exists
    CHECK(call(make_id(2), make_id(1), sha256_of("none").raw()) == 1);  // a chunk nobody stored
    CHECK(rows() == 1);
    CHECK(store->head(user)->head == make_id(1));

    CHECK(call(make_id(2), make_id(1), chunk.raw()) == 0);
    CHECK(rows() == 2);
    auto h = store->head(user);
    REQUIRE(h);
    CHECK(h->head == make_id(2));
    CHECK(h->seq == 2);
    CHECK(query_number(*c, "SELECT refs FROM chunklog_chunks") == 2);
}

TEST_CASE("an older schema is upgraded in place, and a newer one refused with both versions named") {
    test::temp_dir dir;
    auto conninfo = test::postgresql_conninfo(dir.path() / "postgresql");
    open_postgresql(conninfo).reset();
    auto c = connect(conninfo);
    // Version 1: the tables without the function.
    REQUIRE(c->run_script("DROP FUNCTION chunklog_publish_one; UPDATE chunklog_schema SET version = 1"));

    auto store = open_postgresql(conninfo);
    CHECK(query_number(*c, "SELECT version FROM chunklog_schema") == 2);
    CHECK(query_number(*c, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                             "WHERE proname = 'chunklog_publish_one' AND nspname = current_schema()") == 1);
    auto chunk = sha256_of("after the upgrade");
    auto r = store->publish(make_id(7), {{{chunk, "after the upgrade"}}, {{make_id(1), root_id, std::nullopt, {chunk}}},
                                         make_id(1)});
    REQUIRE(r);
    CHECK(r->head_advanced);
    store.reset();

    REQUIRE(c->run_script("UPDATE chunklog_schema SET version = 3"));
    storage::store_options options;
    options.kind = storage::store_kind::postgresql;
    options.connection = conninfo;
    auto refused = storage::log_store::open(options);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("version 3") != std::string::npos);
    CHECK(refused.error().message.find("chunklogd's 2") != std::string::npos);
}

TEST_CASE("notifications carry as many payloads as fit, separated by spaces") {
    std::set<std::string> payloads;
    for (unsigned i = 0; i < 500; ++i) payloads.insert(make_id(i).to_string());
    auto sql = storage::notify_statements("chunklog_head", payloads);
    std::size_t statements = 0, ids = 0;
    for (std::size_t at = 0; (at = sql.find("SELECT pg_notify('chunklog_head', '", at)) != std::string::npos;) {
        at += 35;
        auto end = sql.find('\'', at);
        auto payload = sql.substr(at, end - at);
        CHECK(payload.size() <= storage::store_notifier::max_payload);
        ++statements;
        ids += (payload.size() + 1) / 37;  // 36 characters and a space each
        at = end;
    }
    CHECK(statements == 3);  // 500 * 37 bytes in 7,900-byte payloads
    CHECK(ids == 500);
    CHECK(storage::notify_statements("c", {"it's"}) == "SELECT pg_notify('c', 'it''s');");
}

TEST_CASE("every HEAD moved through one store reaches another store's listener, however many at once") {
    test::temp_dir dir;
    // Declared before the stores: the listener may still call back (late
    // notifications) until the watching store is gone.
    std::mutex mutex;
    std::condition_variable arrived;
    std::set<uuid> moved;
    auto conninfo = test::postgresql_conninfo(dir.path() / "postgresql");
    auto watching = open_postgresql(conninfo);
    auto writing = open_postgresql(conninfo);
    watching->watch({[&](std::optional<uuid> user) {
                         std::lock_guard lock(mutex);
                         if (user) moved.insert(*user);
                         arrived.notify_all();
                     },
                     nullptr});
    // The listener subscribes on its own thread: publish until it hears one.
    const uuid probe = make_id(999);
    bool subscribed = false;
    for (unsigned n = 1; n <= 100 && !subscribed; ++n) {
        REQUIRE(writing->publish(probe, {{}, {{make_id(n), n == 1 ? root_id : make_id(n - 1), std::nullopt, {}}},
                                         make_id(n)}));
        std::unique_lock lock(mutex);
        subscribed = arrived.wait_for(lock, std::chrono::milliseconds(100), [&] { return moved.contains(probe); });
    }
    REQUIRE(subscribed);
    {
        std::lock_guard lock(mutex);
        moved.clear();
    }

    constexpr unsigned users = 400;
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            for (unsigned i = w; i < users; i += 4) {
                auto chunk = std::to_string(i);
                auto id = sha256_of(chunk);
                CHECK(writing->publish(make_id(1000 + i), {{{id, chunk}}, {{make_id(1), root_id, std::nullopt, {id}}},
                                                             make_id(1)}));
            }
        });
    for (auto& t : writers) t.join();
    std::unique_lock lock(mutex);
    CHECK(arrived.wait_for(lock, std::chrono::seconds(5), [&] { return moved.size() == users; }));
    CHECK(moved.size() == users);
}

}
