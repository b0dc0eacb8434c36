// Quotas on stored chunk bytes: put_chunk and publish refuse, storing
// nothing, what would take a user past the limit in force; reaching it
// exactly is fine, chunks already stored do not count again, and writers
// racing to fill a quota never overshoot it.
#include "support/store_fixture.hpp"

#include <atomic>
#include <cstdio>
#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using storage::insert_result;
using storage::new_transaction;
using storage::publish_request;

namespace {

// A store with a default quota, on its own temp directory.
struct quota_fixture {
    test::temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    uuid user = make_id(0xabc);

    explicit quota_fixture(std::uint64_t default_quota = 0) { reopen(default_quota); }

    void reopen(std::uint64_t default_quota) {
        store.reset();
        auto options = test::store_options_for(dir.path() / "db");
        options.default_quota_bytes = default_quota;
        auto opened = storage::log_store::open(options);
        REQUIRE(opened);
        store = std::move(*opened);
    }

    outcome<insert_result> put(const std::string& bytes) { return store->put_chunk(user, sha256_of(bytes), bytes); }

    user_summary summary() { return store->summary(user).value(); }
};

// `n` bytes, different for each `tag`.
std::string bytes_of(std::size_t n, int tag) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%06d:", tag);
    std::string s(prefix);
    s.resize(n, 'x');
    return s;
}

publish_request one_transaction(const uuid& parent, const uuid& id, std::vector<std::string> chunks) {
    publish_request r;
    std::vector<digest> ids;
    for (auto& c : chunks) {
        ids.push_back(sha256_of(c));
        r.chunks.emplace_back(sha256_of(c), std::move(c));
    }
    r.transactions = {new_transaction{id, parent, std::nullopt, std::move(ids)}};
    r.head = id;
    return r;
}

}  // namespace

TEST_SUITE("quota") {

TEST_CASE("a chunk reaching the quota exactly is stored, one byte past it is refused and nothing stored") {
    quota_fixture f(100);
    REQUIRE(f.put(bytes_of(60, 1)));
    REQUIRE(f.put(bytes_of(40, 2)));  // exactly 100
    CHECK(f.summary().bytes == 100);

    auto over = f.put(bytes_of(1, 3));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == errc::quota_exceeded);
    CHECK_MESSAGE(over.error().message.find("100 bytes") != std::string::npos, over.error().message);
    CHECK_MESSAGE(over.error().message.find("100 bytes are stored") != std::string::npos, over.error().message);
    CHECK(f.summary().chunks == 2);
    CHECK(f.summary().bytes == 100);
    CHECK_FALSE(f.store->chunk(f.user, sha256_of(bytes_of(1, 3))).value());
    CHECK_FALSE(f.store->chunk_size(f.user, sha256_of(bytes_of(1, 3))).value());

    // Chunks already stored do not count again; an empty chunk adds nothing.
    CHECK(f.put(bytes_of(60, 1)).value() == insert_result::already_present);
    CHECK(f.put("").value() == insert_result::created);

    // A chunk larger than the whole quota, for a user with nothing stored.
    quota_fixture g(10);
    CHECK(g.put(bytes_of(11, 4)).error().code == errc::quota_exceeded);
    CHECK(g.put(bytes_of(10, 4)).value() == insert_result::created);

    // The usage survives reopening; the limit is the store's option.
    f.reopen(100);
    CHECK(f.put(bytes_of(1, 3)).error().code == errc::quota_exceeded);
    f.reopen(101);
    CHECK(f.put(bytes_of(1, 3)).value() == insert_result::created);
}

TEST_CASE("a publish counts only the chunks the user lacks, each once, and stores nothing when over") {
    quota_fixture f(100);
    auto a = bytes_of(30, 1), b = bytes_of(30, 2), c = bytes_of(40, 3);
    REQUIRE(f.put(a));

    // a is stored already and b appears twice: 30 + 40 new bytes, 100 in all.
    auto t1 = make_id(1);
    auto r = one_transaction(root_id, t1, {a, b, b, c});
    auto done = f.store->publish(f.user, r);
    REQUIRE(done);
    CHECK(done->chunk_bytes_created == 70);
    CHECK(f.summary().bytes == 100);

    // At the limit: re-sending stored chunks with a new transaction is fine...
    auto t2 = make_id(2);
    REQUIRE(f.store->publish(f.user, one_transaction(t1, t2, {a, c})));
    // ...one new byte is not, and then nothing of the request is stored.
    auto t3 = make_id(3);
    auto refused = f.store->publish(f.user, one_transaction(t2, t3, {a, bytes_of(1, 4)}));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::quota_exceeded);
    CHECK(f.store->head(f.user).value().head == t2);
    CHECK_FALSE(f.store->committed_transaction(f.user, t3).value());
    CHECK(f.store->list_committed(f.user, root_id, 10).value().ids == std::vector{t1, t2});
    CHECK(f.summary().chunks == 3);
    CHECK(f.summary().bytes == 100);
    CHECK_FALSE(f.store->chunk(f.user, sha256_of(bytes_of(1, 4))).value());
}

TEST_CASE("a user's own quota beats the default, null restores it, 0 lifts the limit") {
    quota_fixture f(10);
    CHECK(f.put(bytes_of(20, 1)).error().code == errc::quota_exceeded);
    REQUIRE(f.store->set_quota(f.user, 50));
    REQUIRE(f.put(bytes_of(20, 1)));
    CHECK(f.put(bytes_of(31, 2)).error().code == errc::quota_exceeded);
    REQUIRE(f.put(bytes_of(30, 2)));

    REQUIRE(f.store->set_quota(f.user, std::nullopt));  // back to the default 10, already passed
    CHECK(f.put(bytes_of(1, 3)).error().code == errc::quota_exceeded);
    CHECK(f.put(bytes_of(20, 1)).value() == insert_result::already_present);

    REQUIRE(f.store->set_quota(f.user, 0));  // no limit for this user
    REQUIRE(f.put(bytes_of(1000, 4)));
    // Other users follow the default.
    CHECK(f.store->put_chunk(make_id(9), sha256_of(bytes_of(11, 5)), bytes_of(11, 5)).error().code ==
          errc::quota_exceeded);
}

TEST_CASE("delete_user frees the user's bytes and keeps the limit") {
    quota_fixture f;
    REQUIRE(f.store->set_quota(f.user, 20));
    REQUIRE(f.put(bytes_of(20, 1)));
    CHECK(f.put(bytes_of(1, 2)).error().code == errc::quota_exceeded);
    REQUIRE(f.store->delete_user(f.user));
    CHECK(f.store->quota_in_force(f.user).value() == 20);
    REQUIRE(f.put(bytes_of(20, 2)));
    CHECK(f.put(bytes_of(1, 3)).error().code == errc::quota_exceeded);
}

TEST_CASE("writers racing to fill a quota fill it exactly and never past it") {
    // 200 distinct 10-byte chunks, each offered by two threads, against a
    // quota of 100 of them: exactly 100 are stored, whatever the interleaving.
    quota_fixture f(1000);
    constexpr int threads = 8, per_thread = 50;
    std::atomic<int> created{0}, refused{0};
    std::atomic<std::uint64_t> over_limit_seen{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                auto r = f.put(bytes_of(10, (i * threads + t) % 200));
                if (!r) {
                    CHECK(r.error().code == errc::quota_exceeded);
                    ++refused;
                } else if (*r == insert_result::created) {
                    ++created;
                }
                auto bytes = f.store->summary(f.user).value().bytes;
                if (bytes > 1000) over_limit_seen = bytes;
            }
        });
    for (auto& t : pool) t.join();
    CHECK(over_limit_seen == 0);
    CHECK(created == 100);
    CHECK(refused > 0);
    CHECK(f.summary().chunks == 100);
    CHECK(f.summary().bytes == 1000);
}

TEST_CASE("publishes and chunk PUTs racing under a quota store exactly what they acknowledge") {
    quota_fixture f(5000);
    constexpr int threads = 6, rounds = 40;
    std::atomic<std::uint64_t> acknowledged{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                auto tag = t * 1000 + i;
                if (t % 2 == 0) {
                    auto bytes = bytes_of(17 + i % 13, tag);
                    auto r = f.put(bytes);
                    if (r) acknowledged += bytes.size();
                    else CHECK(r.error().code == errc::quota_exceeded);
                    continue;
                }
                // Each publish starts its own branch from ROOT (no HEAD), so
                // only the quota can refuse it.
                publish_request r;
                for (int k = 0; k < 3; ++k) {
                    auto bytes = bytes_of(23 + k, tag * 10 + k);
                    r.chunks.emplace_back(sha256_of(bytes), bytes);
                }
                r.transactions = {new_transaction{uuid::random(), root_id, std::nullopt, {r.chunks[0].first}}};
                auto done = f.store->publish(f.user, r);
                if (done) acknowledged += done->chunk_bytes_created;
                else CHECK(done.error().code == errc::quota_exceeded);
            }
        });
    for (auto& t : pool) t.join();
    auto bytes = f.summary().bytes;
    CHECK(bytes <= 5000);
    CHECK(bytes == acknowledged.load());
    CHECK(bytes > 5000 - 100);  // refusals came only near the limit
}

}
