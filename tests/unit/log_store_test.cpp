#include "support/store_fixture.hpp"

#include "storage/rocksdb/user_locks.hpp"

#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using chunklog::test::store_fixture;
using storage::insert_result;

TEST_SUITE("log_store") {

TEST_CASE_FIXTURE(store_fixture, "a fresh user has HEAD at ROOT and nothing stored") {
    auto h = store->head(user);
    REQUIRE(h);
    CHECK(h->head == root_id);
    CHECK(h->seq == 0);
    auto s = store->summary(user);
    REQUIRE(s);
    CHECK(s->chunks == 0);
    CHECK(s->transactions == 0);
}

TEST_CASE_FIXTURE(store_fixture, "cached reads answer from memory and say when the value is on disk only") {
    std::string big(64 * 1024, 'b');  // a blob-file chunk once flushed
    auto id = add_chunk(big);
    if (store->reads_block()) {  // a database server's store keeps nothing in memory: every read says so
        CHECK(store->cached_chunk(user, id).value().on_disk);
        CHECK(store->cached_chunk_size(user, id).value().on_disk);
        return;
    }
    CHECK(store->cached_chunk(user, id).value().value == std::optional<std::string>(big));  // in the memtable
    CHECK(store->cached_chunk_size(user, id).value().value == std::optional<std::uint64_t>(big.size()));
    CHECK_FALSE(store->cached_chunk(user, sha256_of("absent")).value().value);

    reopen();  // recovery flushes the memtables: the chunk is in files, the caches are empty
    auto cold = store->cached_chunk(user, id).value();
    CHECK(cold.on_disk);
    CHECK_FALSE(cold.value);
    CHECK(store->cached_chunk_size(user, id).value().on_disk);
    CHECK(store->chunk(user, id).value() == std::optional<std::string>(big));  // a real read fills the caches
    CHECK(store->chunk_size(user, id).value() == std::optional<std::uint64_t>(big.size()));
    auto warm = store->cached_chunk(user, id).value();
    CHECK_FALSE(warm.on_disk);
    CHECK(warm.value == std::optional<std::string>(big));
    CHECK(store->cached_chunk_size(user, id).value().value == std::optional<std::uint64_t>(big.size()));
}

TEST_CASE_FIXTURE(store_fixture, "chunks are stored once and counted once") {
    auto id = sha256_of("hello");
    CHECK(store->put_chunk(user, id, "hello").value() == insert_result::created);
    CHECK(store->put_chunk(user, id, "hello").value() == insert_result::already_present);
    CHECK(store->chunk(user, id).value() == std::optional<std::string>("hello"));
    add_chunk("");
    auto s = store->summary(user).value();
    CHECK(s.chunks == 2);
    CHECK(s.bytes == 5);
}

TEST_CASE_FIXTURE(store_fixture, "chunks of one user are invisible to another") {
    auto id = add_chunk("private");
    auto other = make_id(0xdef);
    CHECK_FALSE(store->chunk(other, id).value());
    CHECK(store->missing_chunks(other, std::vector{id}).value().size() == 1);
}

TEST_CASE_FIXTURE(store_fixture, "missing_chunks keeps request order and drops repeats") {
    auto a = add_chunk("a");
    auto b = sha256_of("b");
    auto c = sha256_of("c");
    auto missing = store->missing_chunks(user, std::vector{c, a, b, c, b}).value();
    CHECK(missing == std::vector{c, b});
}

TEST_CASE_FIXTURE(store_fixture, "transaction creation rules") {
    auto chunk = add_chunk("data");
    auto created = store->put_transaction(user, {make_id(1), root_id, 1, {chunk}});
    REQUIRE(created);
    CHECK(created->result == insert_result::created);
    CHECK(created->record.seq == 1);

    SUBCASE("a retry with the same content is answered as already present") {
        auto again = store->put_transaction(user, {make_id(1), root_id, std::nullopt, {chunk}});
        REQUIRE(again);
        CHECK(again->result == insert_result::already_present);
    }
    SUBCASE("the same id with other content is transaction_exists") {
        auto r = store->put_transaction(user, {make_id(1), root_id, std::nullopt, {}});
        CHECK(r.error().code == errc::transaction_exists);
    }
    SUBCASE("an unknown parent is unknown_parent") {
        auto r = store->put_transaction(user, {make_id(2), make_id(99), std::nullopt, {}});
        CHECK(r.error().code == errc::unknown_parent);
    }
    SUBCASE("missing chunks are listed") {
        auto absent = sha256_of("absent");
        auto r = store->put_transaction(user, {make_id(2), make_id(1), std::nullopt, {chunk, absent, absent}});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::missing_chunks);
        CHECK(r.error().missing == std::vector{absent});
    }
    SUBCASE("a wrong seq is bad_request") {
        auto r = store->put_transaction(user, {make_id(2), make_id(1), 5, {}});
        CHECK(r.error().code == errc::bad_request);
    }
    SUBCASE("ROOT and self-parent are bad_request") {
        CHECK(store->put_transaction(user, {root_id, root_id, std::nullopt, {}}).error().code == errc::bad_request);
        CHECK(store->put_transaction(user, {make_id(3), make_id(3), std::nullopt, {}}).error().code ==
              errc::bad_request);
    }
    SUBCASE("forks are allowed") {
        CHECK(store->put_transaction(user, {make_id(2), make_id(1), 2, {}}));
        CHECK(store->put_transaction(user, {make_id(3), make_id(1), 2, {}}));
    }
}

TEST_CASE_FIXTURE(store_fixture, "advancing HEAD commits the whole chain at once") {
    add_chain(1, 5, root_id);
    CHECK_FALSE(store->committed_transaction(user, make_id(3)).value());  // pending
    CHECK(store->advance_head(user, make_id(5)).value() == head_state{make_id(5), 5});
    CHECK(store->head(user).value() == head_state{make_id(5), 5});
    auto listing = store->list_committed(user, root_id, 100).value();
    CHECK(listing.ids == std::vector{make_id(1), make_id(2), make_id(3), make_id(4), make_id(5)});
    CHECK(store->committed_transaction(user, make_id(3)).value()->seq == 3);
    CHECK(store->summary(user).value().transactions == 5);
}

TEST_CASE_FIXTURE(store_fixture, "HEAD advance refusals") {
    add_chain(1, 2, root_id);
    add_transaction(make_id(10), make_id(1));  // fork at 1
    REQUIRE(store->advance_head(user, make_id(2)));

    SUBCASE("re-advancing to HEAD is accepted and changes nothing") {
        CHECK(store->advance_head(user, make_id(2)).value() == head_state{make_id(2), 2});
        CHECK(store->head(user).value().head == make_id(2));
    }
    SUBCASE("a dead branch conflicts and reports the current HEAD") {
        auto r = store->advance_head(user, make_id(10));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::conflict);
        CHECK(r.error().head == make_id(2));
    }
    SUBCASE("an ancestor of HEAD conflicts") {
        CHECK(store->advance_head(user, make_id(1)).error().code == errc::conflict);
    }
    SUBCASE("ROOT conflicts once HEAD moved") {
        CHECK(store->advance_head(user, root_id).error().code == errc::conflict);
    }
    SUBCASE("an unknown transaction is unknown_transaction") {
        CHECK(store->advance_head(user, make_id(77)).error().code == errc::unknown_transaction);
    }
    SUBCASE("a transaction with children conflicts") {
        add_chain(3, 4, make_id(2));
        CHECK(store->advance_head(user, make_id(3)).error().code == errc::conflict);
        CHECK(store->advance_head(user, make_id(4)));
    }
    SUBCASE("a descendant of a dead branch conflicts") {
        add_transaction(make_id(11), make_id(10));
        CHECK(store->advance_head(user, make_id(11)).error().code == errc::conflict);
    }
    CHECK(store->list_committed(user, root_id, 10).value().ids.size() >= 2);
}

TEST_CASE_FIXTURE(store_fixture, "ROOT re-advance on an empty user is accepted") {
    CHECK(store->advance_head(user, root_id));
}

TEST_CASE_FIXTURE(store_fixture, "listing pages from any committed transaction") {
    add_chain(1, 30, root_id);
    REQUIRE(store->advance_head(user, make_id(30)));
    auto page = store->list_committed(user, make_id(10), 5).value();
    CHECK(page.ids == std::vector{make_id(11), make_id(12), make_id(13), make_id(14), make_id(15)});
    CHECK(store->list_committed(user, make_id(30), 5).value().ids.empty());
    CHECK(store->list_committed(user, root_id, 0).value().ids.empty());
    add_transaction(make_id(40), make_id(30));  // pending
    CHECK(store->list_committed(user, make_id(40), 5).error().code == errc::not_found);
    CHECK(store->list_committed(user, make_id(99), 5).error().code == errc::not_found);
}

TEST_CASE_FIXTURE(store_fixture, "delete removes one user entirely and nothing else") {
    auto other = make_id(0xdef);
    auto shared_bytes = add_chunk("shared");
    add_chunk("shared", other);
    add_chain(1, 3, root_id);
    REQUIRE(store->advance_head(user, make_id(3)));
    REQUIRE(store->delete_user(user));
    CHECK(store->head(user).value() == head_state{});
    CHECK_FALSE(store->chunk(user, shared_bytes).value());
    CHECK(store->summary(user).value().chunks == 0);
    CHECK(store->list_committed(user, root_id, 10).value().ids.empty());
    CHECK(store->chunk(other, shared_bytes).value());
    CHECK(store->delete_user(user));  // idempotent
    // The ids are free again after a delete.
    add_chain(1, 2, root_id);
    CHECK(store->advance_head(user, make_id(2)));
}

TEST_CASE_FIXTURE(store_fixture, "users that share an entry of the lock table each advance from their own HEAD") {
    // The entry keeps one remembered HEAD (user_locks.hpp): another user of
    // the entry must never be handed it.
    uuid other;
    do other = uuid::random();
    while (id_hash{}(other) % storage::user_locks::user_entries != id_hash{}(user) % storage::user_locks::user_entries);
    add_chain(1, 3, root_id);
    REQUIRE(store->advance_head(user, make_id(3)));
    REQUIRE(store->put_transaction(other, {make_id(21), root_id, std::nullopt, {}}));
    auto advanced = store->advance_head(other, make_id(21));
    REQUIRE(advanced);
    CHECK(*advanced == head_state{make_id(21), 1});
    add_transaction(make_id(4), make_id(3));
    auto again = store->advance_head(user, make_id(4));
    REQUIRE(again);
    CHECK(*again == head_state{make_id(4), 4});
    CHECK(store->head(other).value() == head_state{make_id(21), 1});
}

TEST_CASE_FIXTURE(store_fixture, "everything survives close and reopen") {
    auto chunk = add_chunk("durable");
    add_transaction(make_id(1), root_id, {chunk});
    REQUIRE(store->advance_head(user, make_id(1)));
    add_transaction(make_id(2), make_id(1));
    reopen();
    CHECK(store->head(user).value() == head_state{make_id(1), 1});
    CHECK(store->chunk(user, chunk).value() == std::optional<std::string>("durable"));
    CHECK(store->committed_transaction(user, make_id(1)).value()->chunks == std::vector{chunk});
    CHECK(store->summary(user).value().chunks == 1);
    CHECK(store->advance_head(user, make_id(2)));  // the pending child was kept
}

TEST_CASE_FIXTURE(store_fixture, "racing advances: exactly one of several children of HEAD wins") {
    constexpr unsigned racers = 8;
    for (unsigned i = 1; i <= racers; ++i) add_transaction(make_id(i), root_id);
    std::vector<int> won(racers, 0);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < racers; ++i)
        threads.emplace_back([&, i] { won[i] = store->advance_head(user, make_id(i + 1)) ? 1 : 0; });
    for (auto& t : threads) t.join();
    CHECK(std::count(won.begin(), won.end(), 1) == 1);
    auto winner = std::find(won.begin(), won.end(), 1) - won.begin();
    CHECK(store->head(user).value().head == make_id(static_cast<unsigned>(winner) + 1));
}

TEST_CASE_FIXTURE(store_fixture, "concurrent puts of one new chunk count it once") {
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) threads.emplace_back([&] { (void)store->put_chunk(user, sha256_of("same"), "same"); });
    for (auto& t : threads) t.join();
    CHECK(store->summary(user).value().chunks == 1);
}

}
