// Snapshots (protocol section 8) and history truncation (section 9) at the
// storage level, with a clock the tests move.
#include "support/gc_fixture.hpp"

#include <future>

using namespace chunklog;
using chunklog::test::make_id;
using storage::insert_result;
using storage::snapshot_urgency;
using namespace std::chrono_literals;

namespace {

struct history_fixture : test::gc_fixture {
    history_fixture() {
        options.history_retention = 24h;
        options.snapshot_after = 4;
        options.snapshot_age = 10 * 24h;
        reopen();
    }

    // Publishes transactions first..last as a chain under `parent` with HEAD
    // at `last`, through the store's queue on odd calls and directly on even
    // ones; the urgency its answer carries (or, when a store leaves it out,
    // the one urgency() reports, as callers do).
    snapshot_urgency publish(unsigned first, unsigned last, const uuid& parent) {
        storage::publish_request request;
        uuid p = parent;
        for (unsigned i = first; i <= last; ++i) {
            request.transactions.push_back({make_id(i), p, std::nullopt, {}});
            p = make_id(i);
        }
        request.head = p;
        auto r = (publishes++ % 2 == 0) ? queued_publish(std::move(request)) : store->publish(user, request);
        REQUIRE(r);
        REQUIRE(r->after.head == p);
        if (store->queues_writes()) REQUIRE(r->urgency.has_value());  // the RocksDB store's answer has it
        return r->urgency ? *r->urgency : store->urgency(user).value();
    }

    outcome<storage::publish_result> queued_publish(storage::publish_request request) {
        std::promise<outcome<storage::publish_result>> answer;
        auto result = answer.get_future();
        store->publish_queued(user, std::move(request), [&](outcome<storage::publish_result> r) { answer.set_value(std::move(r)); });
        return result.get();
    }

    unsigned publishes = 0;

    std::vector<uuid> ids(unsigned first, unsigned last) {
        std::vector<uuid> out;
        for (unsigned i = first; i <= last; ++i) out.push_back(make_id(i));
        return out;
    }
};

}  // namespace

TEST_SUITE("history") {

TEST_CASE_FIXTURE(history_fixture, "a snapshot needs a committed transaction and stored chunks") {
    chain(1, 3, root_id);
    transaction(make_id(9), make_id(3));  // pending
    auto s = chunk("state");
    CHECK(store->put_snapshot(user, root_id, std::vector{s}).error().code == errc::not_found);
    CHECK(store->put_snapshot(user, make_id(9), std::vector{s}).error().code == errc::not_found);
    CHECK(store->put_snapshot(user, make_id(77), std::vector{s}).error().code == errc::not_found);
    auto absent = sha256_of("never stored");
    auto missing = store->put_snapshot(user, make_id(2), std::vector{s, absent, absent});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::missing_chunks);
    CHECK(missing.error().missing == std::vector{absent});
    CHECK(store->snapshot(user).value() == std::nullopt);

    auto made = store->put_snapshot(user, make_id(2), std::vector{s, s});
    REQUIRE(made);
    CHECK(made->result == insert_result::created);
    CHECK(made->in_force == storage::snapshot_ref{make_id(2), 2});
    auto got = store->snapshot(user).value();
    REQUIRE(got);
    CHECK(got->transaction == make_id(2));
    CHECK(got->seq == 2);
    CHECK(got->chunks == std::vector{s, s});
    CHECK(got->created == clock->load());
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "the first snapshot at a seq stays, a later one replaces it") {
    chain(1, 3, root_id);
    auto a = chunk("a"), b = chunk("b"), c = chunk("c");
    REQUIRE(store->put_snapshot(user, make_id(2), std::vector{a}).value().result == insert_result::created);
    // Same seq, other bytes: the first stays (200 with it), even with missing chunks.
    auto same = store->put_snapshot(user, make_id(2), std::vector{b}).value();
    CHECK(same.result == insert_result::already_present);
    CHECK(same.in_force == storage::snapshot_ref{make_id(2), 2});
    auto older = store->put_snapshot(user, make_id(1), std::vector{sha256_of("absent")}).value();
    CHECK(older.result == insert_result::already_present);
    CHECK(older.in_force == storage::snapshot_ref{make_id(2), 2});
    CHECK(store->snapshot(user).value()->chunks == std::vector{a});
    auto newer = store->put_snapshot(user, make_id(3), std::vector{c}).value();
    CHECK(newer.result == insert_result::created);
    CHECK(store->snapshot(user).value()->transaction == make_id(3));
    reopen();
    CHECK(store->snapshot(user).value()->chunks == std::vector{c});
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "snapshot urgency counts transactions after it and its age") {
    CHECK(store->urgency(user).value() == snapshot_urgency::none);  // empty user
    chain(1, 3, root_id);
    CHECK(store->urgency(user).value() == snapshot_urgency::none);  // 3 < 4
    chain(4, 4, make_id(3));
    CHECK(store->urgency(user).value() == snapshot_urgency::low);   // 4 transactions, no snapshot
    chain(5, 5, make_id(4));
    CHECK(store->urgency(user).value() == snapshot_urgency::low);   // 5 < 6
    chain(6, 6, make_id(5));
    CHECK(store->urgency(user).value() == snapshot_urgency::high);  // 6 = 1.5 x 4
    REQUIRE(store->put_snapshot(user, make_id(6), std::vector<digest>{}));
    CHECK(store->urgency(user).value() == snapshot_urgency::none);  // nothing after it
    pass_time(20 * 24h);
    CHECK(store->urgency(user).value() == snapshot_urgency::none);  // old, but nothing new to capture
    chain(7, 7, make_id(6));
    CHECK(store->urgency(user).value() == snapshot_urgency::high);  // 20 days >= 15
    REQUIRE(store->put_snapshot(user, make_id(7), std::vector<digest>{}));
    chain(8, 8, make_id(7));
    pass_time(10 * 24h - 1ms);
    CHECK(store->urgency(user).value() == snapshot_urgency::none);
    pass_time(1ms);
    CHECK(store->urgency(user).value() == snapshot_urgency::low);  // 10 days
    pass_time(5 * 24h);
    CHECK(store->urgency(user).value() == snapshot_urgency::high);

    auto o = store->overview(user).value();
    CHECK(o.urgency == snapshot_urgency::high);
    REQUIRE(o.snapshot);
    CHECK(*o.snapshot == storage::snapshot_ref{make_id(7), 7});
    CHECK(o.history_from == 0);
    CHECK(o.summary.transactions == 8);
}

TEST_CASE_FIXTURE(history_fixture, "a publish answers with the urgency after it as snapshots, time and DELETE change it") {
    CHECK(publish(1, 3, root_id) == snapshot_urgency::none);  // 3 < 4
    CHECK(publish(4, 4, make_id(3)) == snapshot_urgency::low);
    REQUIRE(store->put_snapshot(user, make_id(4), std::vector<digest>{}));
    CHECK(publish(5, 5, make_id(4)) == snapshot_urgency::none);  // counted from the snapshot
    pass_time(15 * 24h);
    CHECK(publish(6, 6, make_id(5)) == snapshot_urgency::high);  // the snapshot is 15 days old
    CHECK(store->urgency(user).value() == snapshot_urgency::high);
    REQUIRE(store->put_snapshot(user, make_id(6), std::vector<digest>{}));
    CHECK(publish(7, 9, make_id(6)) == snapshot_urgency::none);

    // A deleted user starts again: counted from its new first commit.
    REQUIRE(store->delete_user(user));
    pass_time(24h);
    CHECK(publish(21, 21, root_id) == snapshot_urgency::none);
    pass_time(10 * 24h);
    CHECK(publish(22, 22, make_id(21)) == snapshot_urgency::low);   // 10 days since the first
    pass_time(5 * 24h);
    CHECK(publish(23, 23, make_id(22)) == snapshot_urgency::high);  // 15 days
    reopen();
    CHECK(publish(24, 24, make_id(23)) == snapshot_urgency::high);
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "without a snapshot the age counts from the first commit, 0 turns a criterion off") {
    options.snapshot_after = 0;
    reopen();
    chain(1, 1, root_id);
    pass_time(10 * 24h);
    chain(2, 50, make_id(1));
    CHECK(store->urgency(user).value() == snapshot_urgency::low);
    options.snapshot_age = 0ms;
    reopen();
    CHECK(store->urgency(user).value() == snapshot_urgency::none);
}

TEST_CASE_FIXTURE(history_fixture, "truncation removes committed history before the snapshot, older than the retention") {
    chain(1, 6, root_id);
    pass_time(12h);
    chain(7, 10, make_id(6));
    auto state = chunk("state at 8");
    REQUIRE(store->put_snapshot(user, make_id(8), std::vector{state, sha256_of("chunk 3")}));
    // A chunk of a removed transaction that a kept one also names.
    transaction(make_id(11), make_id(10), {sha256_of("chunk 2")});
    REQUIRE(store->advance_head(user, make_id(11)));

    pass_time(13h);  // 1..6 committed 25 h ago, 7..11 13 h ago
    auto r = collect();
    CHECK(r.truncated == 6);
    CHECK(r.transactions == 6);
    CHECK(r.chunks == 4);  // chunks 1, 4, 5, 6; 2 and 3 are still named
    CHECK(store->head(user).value() == head_state{make_id(11), 11});
    for (unsigned i = 1; i <= 6; ++i) CHECK(store->committed_transaction(user, make_id(i)).value() == std::nullopt);
    CHECK(store->committed_transaction(user, make_id(7)).value());
    CHECK_FALSE(has_chunk("chunk 1"));
    CHECK(has_chunk("chunk 2"));
    CHECK(has_chunk("chunk 3"));
    CHECK(has_chunk("chunk 7"));
    auto o = store->overview(user).value();
    CHECK(o.history_from == 6);
    CHECK(o.summary.transactions == 5);
    CHECK(o.summary.head == head_state{make_id(11), 11});
    CHECK(store->summary(user).value().transactions == 5);

    // Listing and log from removed history (ROOT included): history_truncated.
    CHECK(store->list_committed(user, root_id, 10).error().code == errc::history_truncated);
    CHECK(store->list_committed(user, make_id(3), 10).error().code == errc::history_truncated);
    CHECK(store->open_log(user, make_id(3)).error().code == errc::history_truncated);
    CHECK(store->list_committed(user, make_id(7), 10).value().ids == ids(8, 11));
    // A stored transaction that is not committed is still not_found.
    transaction(make_id(50), make_id(9));
    CHECK(store->list_committed(user, make_id(50), 10).error().code == errc::not_found);

    {
        // With the snapshot: from removed history it starts at the snapshot.
        auto log = store->open_log(user, root_id, true);
        REQUIRE(log);
        REQUIRE(log->snapshot());
        CHECK(log->snapshot()->transaction == make_id(8));
        CHECK(log->position() == 8);
        CHECK(log->next().value()->id == make_id(9));
        CHECK(log->chunk(state).value() == std::optional<std::string>("state at 8"));
        // From before the snapshot but still stored: the snapshot too.
        CHECK(store->open_log(user, make_id(7), true).value().snapshot() != nullptr);
        // From the snapshot or later: no snapshot.
        CHECK(store->open_log(user, make_id(8), true).value().snapshot() == nullptr);
        CHECK(store->open_log(user, make_id(10), true).value().snapshot() == nullptr);
        // Without asking for it: unchanged.
        CHECK(store->open_log(user, make_id(7)).value().snapshot() == nullptr);
    }
    check_invariants();

    // Once 7 is old enough it goes too, never the snapshot's own transaction.
    pass_time(24h);
    r = collect();
    CHECK(r.truncated == 1);  // 7
    CHECK(store->overview(user).value().history_from == 7);
    CHECK(store->committed_transaction(user, make_id(8)).value());
    CHECK(store->list_committed(user, make_id(8), 10).value().ids == ids(9, 11));
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "without a snapshot or a retention nothing committed goes") {
    chain(1, 5, root_id);
    pass_time(30 * 24h);
    CHECK(collect().truncated == 0);
    REQUIRE(store->put_snapshot(user, make_id(4), std::vector<digest>{}));
    options.history_retention = 0ms;
    reopen();
    CHECK(collect().truncated == 0);
    CHECK(store->list_committed(user, root_id, 10).value().ids.size() == 5);
    options.history_retention = 24h;
    reopen();
    CHECK(collect().truncated == 3);
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "a dead branch off old history holds truncation there until it is collected") {
    chain(1, 5, root_id);
    REQUIRE(store->put_snapshot(user, make_id(5), std::vector<digest>{}));
    pass_time(30 * 24h);
    transaction(make_id(30), make_id(2));  // a young dead child of 2
    auto r = collect();
    CHECK(r.truncated == 1);  // 2 has a dead child besides 3: it stays, and so does all after it
    CHECK(store->overview(user).value().history_from == 1);
    CHECK(has_transaction(make_id(30)));
    pass_time(2h);
    r = collect();
    CHECK_FALSE(has_transaction(make_id(30)));
    CHECK(store->overview(user).value().history_from == 4);
    check_invariants();
}

TEST_CASE_FIXTURE(history_fixture, "DELETE of the user removes its snapshot and its truncated history mark") {
    chain(1, 5, root_id);
    REQUIRE(store->put_snapshot(user, make_id(4), std::vector<digest>{}));
    pass_time(30 * 24h);
    CHECK(collect().truncated == 3);
    REQUIRE(store->delete_user(user));
    auto o = store->overview(user).value();
    CHECK(o.history_from == 0);
    CHECK(o.snapshot == std::nullopt);
    CHECK(store->list_committed(user, root_id, 10).value().ids.empty());
    chain(1, 2, root_id);
    CHECK(store->list_committed(user, root_id, 10).value().ids == ids(1, 2));
    check_invariants();
}

}  // TEST_SUITE
