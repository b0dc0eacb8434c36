// DELETE of a user racing publishes and transaction PUTs of the same user:
// every request is all or nothing, so whatever interleaving happens, the
// store must stay consistent: the committed chain links up seq by seq from
// ROOT to HEAD, every committed transaction's chunks are stored, and the
// chunk count covers them. And DELETE gets its turn however busy the writers.
#include "support/store_fixture.hpp"

#include <atomic>
#include <set>
#include <thread>

using namespace chunklog;
using storage::new_transaction;
using storage::publish_request;

namespace {

// Publishes one-chunk transactions on top of HEAD until stopped, rebasing on
// the HEAD a conflict names; counts the publishes that succeeded.
void publish_until(storage::log_store& store, const uuid& user, const std::atomic<bool>& stop, int writer,
                   std::atomic<int>& published) {
    for (int i = 0; !stop.load(); ++i) {
        auto head = store.head(user);
        REQUIRE(head);
        auto bytes = "writer " + std::to_string(writer) + " op " + std::to_string(i);
        publish_request r;
        r.chunks = {{sha256_of(bytes), bytes}};
        auto id = uuid::random();
        r.transactions = {new_transaction{id, head->head, std::nullopt, {sha256_of(bytes)}}};
        r.head = id;
        auto done = store.publish(user, r);
        if (done) ++published;
        else CHECK_MESSAGE((done.error().code == errc::conflict || done.error().code == errc::unknown_parent),
                           done.error().message);
    }
}

// Stores a transaction whose chunk was PUT just before, until stopped.
void put_until(storage::log_store& store, const uuid& user, const std::atomic<bool>& stop) {
    for (int i = 0; !stop.load(); ++i) {
        auto bytes = "loose " + std::to_string(i);
        REQUIRE(store.put_chunk(user, sha256_of(bytes), bytes));
        auto t = store.put_transaction(user, {uuid::random(), root_id, std::nullopt, {sha256_of(bytes)}});
        // A DELETE between the two calls takes the chunk with it.
        if (!t) CHECK(t.error().code == errc::missing_chunks);
    }
}

void check_consistent(storage::log_store& store, const uuid& user) {
    auto listing = store.list_committed(user, root_id, 100'000);
    REQUIRE(listing);
    uuid parent = root_id;
    std::set<digest> referenced;
    for (std::size_t i = 0; i < listing->ids.size(); ++i) {
        auto t = store.committed_transaction(user, listing->ids[i]);
        REQUIRE(t);
        REQUIRE(*t);
        CHECK((*t)->seq == i + 1);
        CHECK((*t)->parent == parent);
        for (const auto& c : (*t)->chunks) {
            CHECK(store.chunk(user, c).value().has_value());
            referenced.insert(c);
        }
        parent = (*t)->id;
    }
    CHECK(listing->head.head == parent);
    CHECK(store.summary(user).value().chunks >= referenced.size());
}

}  // namespace

TEST_SUITE("store_race") {

TEST_CASE_FIXTURE(test::store_fixture, "DELETE racing publishes and transaction PUTs leaves a consistent store") {
    std::atomic<bool> stop{false};
    std::atomic<int> published{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 3; ++w)
        threads.emplace_back([&, w] { publish_until(*store, user, stop, w, published); });
    threads.emplace_back([&] { put_until(*store, user, stop); });
    int deletes = 0;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((deletes < 30 || published.load() < 30) && std::chrono::steady_clock::now() < give_up) {
        REQUIRE(store->delete_user(user));
        ++deletes;
        check_consistent(*store, user);
        // Let the writers land a few requests between two deletes.
        for (int before = published.load(); published.load() < before + 3 && std::chrono::steady_clock::now() < give_up;)
            std::this_thread::yield();
    }
    MESSAGE(deletes << " deletes, " << published.load() << " publishes");
    stop = true;
    for (auto& t : threads) t.join();
    check_consistent(*store, user);
    REQUIRE(store->delete_user(user));
    CHECK(store->head(user).value() == head_state{});
    CHECK(store->summary(user).value().chunks == 0);
    CHECK(published.load() >= 30);
    CHECK(deletes >= 30);  // DELETE is not starved by a steady stream of writes
}

}
