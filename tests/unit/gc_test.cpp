// Garbage collection (protocol section 9) at the storage level, with a clock
// the tests move: what a pass removes and keeps, the counters, references
// that are never broken (also while writers race a pass), and the store's
// invariants after each pass.
#include "support/gc_fixture.hpp"

#include <atomic>
#include <set>
#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using storage::insert_result;
using storage::new_transaction;
using storage::publish_request;
using namespace std::chrono_literals;

TEST_SUITE("gc") {

TEST_CASE_FIXTURE(test::gc_fixture, "dead and pending transactions go after the grace period, committed ones stay") {
    chain(1, 3, root_id);                           // committed 1..3
    transaction(make_id(10), make_id(3));          // pending: a child of HEAD
    transaction(make_id(20), make_id(1));          // dead: a branch off committed 1
    transaction(make_id(21), root_id);             // dead: another child of ROOT

    pass_time(59min);
    auto early = collect();
    CHECK(early.transactions == 0);
    CHECK(early.chunks == 0);
    CHECK(has_transaction(make_id(10)));

    pass_time(2min);
    auto r = collect();
    CHECK(r.transactions == 3);
    CHECK(r.truncated == 0);
    CHECK_FALSE(has_transaction(make_id(10)));
    CHECK_FALSE(has_transaction(make_id(20)));
    CHECK_FALSE(has_transaction(make_id(21)));
    for (unsigned i = 1; i <= 3; ++i) CHECK(store->committed_transaction(user, make_id(i)).value());
    CHECK(store->head(user).value() == head_state{make_id(3), 3});
    CHECK(store->summary(user).value().transactions == 3);
    check_invariants();

    // Their ids are free: created again, 201.
    auto again = store->put_transaction(user, {make_id(20), make_id(3), std::nullopt, {}});
    REQUIRE(again);
    CHECK(again->result == insert_result::created);
    CHECK(again->record.seq == 4);
    CHECK(store->advance_head(user, make_id(20)));
}

TEST_CASE_FIXTURE(test::gc_fixture, "a publish's transactions its advance leaves uncommitted go after the grace period") {
    // One request: 1 <- 2 (made HEAD), and 3, a sibling of 2 the advance
    // does not commit; 4 in a second request names no head at all.
    storage::publish_request r;
    r.transactions = {{make_id(1), root_id, std::nullopt, {}},
                      {make_id(2), make_id(1), std::nullopt, {}},
                      {make_id(3), make_id(1), std::nullopt, {}}};
    r.head = make_id(2);
    REQUIRE(store->publish(user, r));
    REQUIRE(store->publish(user, {{}, {{make_id(4), make_id(2), std::nullopt, {}}}, std::nullopt}));
    pass_time(61min);
    auto gc = collect();
    CHECK(gc.transactions == 2);
    CHECK_FALSE(has_transaction(make_id(3)));
    CHECK_FALSE(has_transaction(make_id(4)));
    CHECK(store->head(user).value() == head_state{make_id(2), 2});
    CHECK(store->committed_transaction(user, make_id(1)).value());
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a transaction named as parent by a remaining one is kept, whatever its age") {
    chain(1, 1, root_id);
    transaction(make_id(2), make_id(1));  // old pending parent ...
    pass_time(2h);
    transaction(make_id(3), make_id(2));  // ... of a young pending child
    auto r = collect();
    CHECK(r.transactions == 0);
    CHECK(has_transaction(make_id(2)));
    CHECK(has_transaction(make_id(3)));
    // The chain can still be published: nothing lost a link.
    CHECK(store->advance_head(user, make_id(3)));
    CHECK(store->list_committed(user, root_id, 10).value().ids == std::vector{make_id(1), make_id(2), make_id(3)});
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a dead branch longer than a batch goes in one pass, leaves first") {
    chain(1, 1, root_id);
    chain(1000, 1400, root_id, false);  // 401 dead transactions in a line, each with its chunk
    transaction(make_id(2000), make_id(1200));  // a side branch in the middle
    pass_time(2h);
    auto r = collect();
    CHECK(r.transactions == 402);
    CHECK(r.chunks == 401);
    CHECK_FALSE(has_transaction(make_id(1000)));
    CHECK(has_chunk("chunk 1"));
    CHECK(store->summary(user).value().chunks == 1);
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a re-sent uncommitted transaction starts its grace period again") {
    transaction(make_id(1), root_id);
    pass_time(50min);
    auto again = store->put_transaction(user, {make_id(1), root_id, std::nullopt, {}});
    REQUIRE(again);
    CHECK(again->result == insert_result::already_present);
    pass_time(50min);
    CHECK(collect().transactions == 0);
    pass_time(11min);
    CHECK(collect().transactions == 1);
}

TEST_CASE_FIXTURE(test::gc_fixture, "unreferenced chunks go after the grace period, referenced ones stay, counters are exact") {
    auto committed = chunk("committed");
    auto pending = chunk("pending");
    auto dead = chunk("dead");
    chunk("loose and old");
    transaction(make_id(1), root_id, {committed, committed});
    REQUIRE(store->advance_head(user, make_id(1)));
    transaction(make_id(2), make_id(1), {pending});
    pass_time(30min);
    chunk("loose and young");
    transaction(make_id(3), root_id, {dead});
    pass_time(31min);  // everything but the young ones is past the grace period

    auto r = collect();
    CHECK(r.transactions == 1);  // 2 only; 3 is young
    CHECK(r.chunks == 2);        // "loose and old", "pending"
    CHECK(r.bytes == std::string("loose and old").size() + std::string("pending").size());
    CHECK(has_chunk("committed"));
    CHECK(has_chunk("dead"));  // its transaction is young
    CHECK(has_chunk("loose and young"));
    CHECK_FALSE(has_chunk("pending"));
    CHECK_FALSE(has_chunk("loose and old"));
    auto s = store->summary(user).value();
    CHECK(s.chunks == 3);
    CHECK(s.bytes == std::string("committed").size() + std::string("dead").size() + std::string("loose and young").size());
    CHECK(store->missing_chunks(user, std::vector{pending}).value() == std::vector{pending});
    check_invariants();

    pass_time(1h);
    r = collect();
    CHECK(r.transactions == 1);
    CHECK(r.chunks == 2);
    CHECK(store->summary(user).value().chunks == 1);
    CHECK(has_chunk("committed"));
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a chunk re-sent by PUT or publish starts its grace period again") {
    chunk("by put");
    chunk("by publish");
    chunk("not re-sent");
    pass_time(50min);
    CHECK(store->put_chunk(user, sha256_of("by put"), "by put").value() == insert_result::already_present);
    publish_request p;
    p.chunks = {{sha256_of("by publish"), "by publish"}};
    REQUIRE(store->publish(user, p));
    pass_time(11min);
    auto r = collect();
    CHECK(r.chunks == 1);
    CHECK_FALSE(has_chunk("not re-sent"));
    CHECK(has_chunk("by put"));
    CHECK(has_chunk("by publish"));
    pass_time(50min);
    CHECK(collect().chunks == 2);
    CHECK(store->summary(user).value().chunks == 0);
    CHECK(store->summary(user).value().bytes == 0);
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a pass goes through every user, and the chunks of one user never keep another's") {
    auto other = make_id(0xdef);
    chunk("shared bytes", other);
    chunk("shared bytes");
    transaction(make_id(1), root_id, {sha256_of("shared bytes")});
    REQUIRE(store->advance_head(user, make_id(1)));
    chunk("other's loose", other);
    pass_time(2h);
    auto r = collect();
    CHECK(r.users == 2);
    CHECK(r.chunks == 2);
    CHECK(store->chunk(other, sha256_of("shared bytes")).value() == std::nullopt);
    CHECK(has_chunk("shared bytes"));
    CHECK(store->summary(other).value().chunks == 0);
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "the snapshot keeps its chunks, a replaced snapshot's chunks go") {
    chain(1, 2, root_id);
    auto state1 = chunk("state at 1");
    auto state2 = chunk("state at 2");
    REQUIRE(store->put_snapshot(user, make_id(1), std::vector{state1}));
    pass_time(2h);
    auto r = collect();
    CHECK(r.chunks == 1);  // "state at 2": nothing names it yet
    CHECK(has_chunk("state at 1"));
    state2 = chunk("state at 2");
    REQUIRE(store->put_snapshot(user, make_id(2), std::vector{state2}));
    pass_time(2h);
    r = collect();
    CHECK(r.chunks == 1);
    CHECK_FALSE(has_chunk("state at 1"));
    CHECK(has_chunk("state at 2"));
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a pass stops between batches when asked") {
    for (unsigned i = 0; i < 600; ++i) chunk("loose " + std::to_string(i));
    pass_time(2h);
    std::atomic<bool> stop{true};
    auto r = store->collect_garbage(&stop);
    REQUIRE(r);
    CHECK(r->stopped);
    CHECK(r->chunks < 600);
    CHECK(collect().chunks + r->chunks == 600);
}

TEST_CASE_FIXTURE(test::gc_fixture, "freed bytes count at once against the quota") {
    REQUIRE(store->set_quota(user, 100));
    std::string fifty(50, 'a');
    chunk(fifty);
    chunk(std::string(50, 'b'));
    CHECK(store->put_chunk(user, sha256_of("c"), "c").error().code == errc::quota_exceeded);
    pass_time(2h);
    CHECK(collect().bytes == 100);
    CHECK(store->put_chunk(user, sha256_of(std::string(100, 'c')), std::string(100, 'c')));
}

TEST_CASE_FIXTURE(test::gc_fixture, "a deleted user has nothing left to collect, and its snapshot is gone") {
    chain(1, 2, root_id);
    REQUIRE(store->put_snapshot(user, make_id(1), std::vector{chunk("s")}));
    REQUIRE(store->delete_user(user));
    CHECK(store->snapshot(user).value() == std::nullopt);
    pass_time(2h);
    auto r = collect();
    CHECK(r.transactions == 0);
    CHECK(r.chunks == 0);
    check_invariants();
}

TEST_CASE_FIXTURE(test::gc_fixture, "a pass racing publishers, PUTs and snapshots never breaks a reference") {
    // On the real clock with no grace period, every record is past it a
    // millisecond after it was written: each pass may take whatever is
    // unreferenced at that very moment.
    options.gc_grace = 0ms;
    options.clock = nullptr;
    reopen();
    std::atomic<bool> stop{false};
    std::atomic<int> published{0}, missing{0}, passes{0};
    std::vector<std::thread> threads;
    // Publishers: a chunk of their own plus one shared by all, and a
    // transaction on HEAD, in one request.
    for (int w = 0; w < 3; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; !stop.load(); ++i) {
                auto h = store->head(user).value();
                auto bytes = "publisher " + std::to_string(w) + " op " + std::to_string(i);
                publish_request r;
                r.chunks = {{sha256_of(bytes), bytes}, {sha256_of("shared"), "shared"}};
                auto id = uuid::random();
                r.transactions = {new_transaction{id, h.head, std::nullopt, {sha256_of(bytes), sha256_of("shared")}}};
                r.head = id;
                auto done = store->publish(user, r);
                if (done) ++published;
                else CHECK_MESSAGE(done.error().code == errc::conflict, done.error().message);
            }
        });
    // A writer that uploads first, then names the chunk: between the two,
    // a pass may take the chunk (missing_chunks), never half of anything.
    threads.emplace_back([&] {
        for (int i = 0; !stop.load(); ++i) {
            auto bytes = "loose " + std::to_string(i % 50);
            REQUIRE(store->put_chunk(user, sha256_of(bytes), bytes));
            auto h = store->head(user).value();
            auto t = store->put_transaction(user, {uuid::random(), h.head, std::nullopt, {sha256_of(bytes)}});
            if (!t) {
                CHECK_MESSAGE((t.error().code == errc::missing_chunks || t.error().code == errc::unknown_parent),
                              t.error().message);
                if (t.error().code == errc::missing_chunks) ++missing;
            }
        }
    });
    // Snapshots of HEAD, made of a chunk uploaded just before.
    threads.emplace_back([&] {
        for (int i = 0; !stop.load(); ++i) {
            auto h = store->head(user).value();
            if (h.head.is_root()) continue;
            auto bytes = "state " + std::to_string(i);
            REQUIRE(store->put_chunk(user, sha256_of(bytes), bytes));
            auto s = store->put_snapshot(user, h.head, std::vector{sha256_of(bytes)});
            if (!s) CHECK_MESSAGE(s.error().code == errc::missing_chunks, s.error().message);
        }
    });
    threads.emplace_back([&] {
        while (!stop.load()) {
            REQUIRE(store->collect_garbage());
            ++passes;
        }
    });
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while ((published.load() < 300 || passes.load() < 20) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    stop = true;
    for (auto& t : threads) t.join();
    MESSAGE(published.load() << " publishes, " << passes.load() << " passes, " << missing.load()
                              << " transactions refused for a chunk collected meanwhile");
    CHECK(published.load() >= 300);
    CHECK(passes.load() >= 20);

    // Every chunk of every committed transaction is readable.
    auto listing = store->list_committed(user, root_id, 100'000).value();
    CHECK(listing.ids.size() == listing.head.seq);
    for (const auto& id : listing.ids) {
        auto t = store->committed_transaction(user, id).value();
        REQUIRE(t);
        for (const auto& c : t->chunks) CHECK(store->chunk(user, c).value().has_value());
    }
    if (auto s = store->snapshot(user).value())
        for (const auto& c : s->chunks) CHECK(store->chunk(user, c).value().has_value());
    check_invariants();
    // One more pass leaves only what is referenced, and the counters agree.
    collect();
    check_invariants();
}

}  // TEST_SUITE
