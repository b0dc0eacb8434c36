// The RocksDB store's commit pipeline: queued writes grouped into one
// synced write, a write whose rule fails failing alone inside its group,
// one user's writes applied in the order queued, clients racing on one
// HEAD answered together, quotas exact inside a group, and a pipeline that
// finishes its queue when the store closes.
#include "storage/rocksdb/commit_pipeline.hpp"
#include "support/fault_fs.hpp"
#include "support/outcome_printer.hpp"
#include "support/protocol.hpp"
#include "support/store_fixture.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/log_store.hpp>
#include <chunklog/storage/maintenance.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <optional>
#include <vector>

using namespace chunklog;
using chunklog::test::make_id;
using storage::insert_result;
using storage::new_transaction;
using storage::publish_request;
using storage::publish_result;

namespace {

// A RocksDB store whose writer thread can be held before a group: the test
// queues writes meanwhile, so that they meet in the next group.
class held_store {
public:
    // `env`: the store's file system (fault injection), or the default;
    // `chunk_file_bytes`: the store's threshold for chunks in files of their own.
    explicit held_store(rocksdb::Env* env = nullptr, std::optional<std::uint64_t> chunk_file_bytes = std::nullopt) {
        storage::store_options options;
        options.dir = dir_.path() / "db";
        options.kind = storage::store_kind::rocksdb;
        options.env = env;
        if (chunk_file_bytes) options.chunk_file_bytes = *chunk_file_bytes;
        options.resume_interval = std::chrono::milliseconds(10);
        options.before_write_group = [this](std::size_t waiting) {
            std::unique_lock lock(mutex_);
            groups_.push_back(waiting);
            changed_.notify_all();
            changed_.wait(lock, [&] { return !holding_; });
        };
        auto opened = storage::log_store::open(options);
        REQUIRE(opened);
        store = std::move(*opened);
    }
    ~held_store() {
        release();
        store.reset();
    }

    // Holds the writer in its next group: queue `first`, wait until the
    // writer is held with it.
    template <typename F>
    void hold_with(F first) {
        {
            std::lock_guard lock(mutex_);
            holding_ = true;
        }
        auto before = group_count();
        first();
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return groups_.size() > before; });
    }
    // The same, with a chunk PUT of a user of its own, whatever its outcome.
    void hold() {
        hold_with([&] { store->put_chunk_queued(make_id(0x43), sha256_of("held"), "held", [](auto) {}); });
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            holding_ = false;
        }
        changed_.notify_all();
    }
    std::size_t group_count() {
        std::lock_guard lock(mutex_);
        return groups_.size();
    }
    // The number of writes waiting when each group began.
    std::vector<std::size_t> groups() {
        std::lock_guard lock(mutex_);
        return groups_;
    }

    std::unique_ptr<storage::log_store> store;
    std::filesystem::path dir() const { return dir_.path() / "db"; }

private:
    test::temp_dir dir_;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool holding_ = false;
    std::vector<std::size_t> groups_;
};

// A result a queued write hands back from the writer thread.
template <typename T>
class awaited {
public:
    std::function<void(outcome<T>)> callback() {
        return [this](outcome<T> r) {
            std::lock_guard lock(mutex_);
            result_.emplace(std::move(r));
            done_.notify_all();
        };
    }
    outcome<T> get() {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return result_.has_value(); });
        return *result_;
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    std::optional<outcome<T>> result_;
};

publish_request one_transaction(const std::string& op, const uuid& id, const uuid& parent) {
    auto c = sha256_of(op);
    publish_request r;
    r.chunks = {{c, op}};
    r.transactions = {new_transaction{id, parent, std::nullopt, {c}}};
    r.head = id;
    return r;
}

// Clients racing on one user's HEAD in one group: the user gets HEAD
// `base`, the writer is held, and each racer queues a publish of a
// transaction of its own on `base` that it makes HEAD. Records the order
// of the answers; the caller releases the writer.
class racers {
public:
    static inline const uuid user = make_id(0x42), base = make_id(0x41);

    racers(held_store& s, unsigned count) {
        REQUIRE(s.store->publish(user, one_transaction("base", base, root_id)));
        s.hold();
        for (unsigned i = 0; i < count; ++i) {
            results_.push_back(std::make_unique<awaited<publish_result>>());
            s.store->publish_queued(user, one_transaction(op(i), id(i), base),
                                 [this, i, done = results_.back()->callback()](outcome<publish_result> r) {
                                     {
                                         std::lock_guard lock(mutex_);
                                         answered_.push_back(i);
                                     }
                                     done(std::move(r));
                                 });
        }
    }
    static std::string op(unsigned i) { return "racer " + std::to_string(i); }
    static uuid id(unsigned i) { return make_id(0x1000 + i); }
    outcome<publish_result> result(unsigned i) { return results_[i]->get(); }
    std::vector<unsigned> answered() {
        std::lock_guard lock(mutex_);
        return answered_;
    }

private:
    std::vector<std::unique_ptr<awaited<publish_result>>> results_;
    std::mutex mutex_;
    std::vector<unsigned> answered_;
};

}  // namespace

TEST_SUITE("commit pipeline") {

TEST_CASE("clients racing on one HEAD meet in one group: one wins, the others hear its HEAD, and hear first") {
    held_store s;
    constexpr unsigned count = 6;
    racers race(s, count);
    s.release();
    const auto& user = racers::user;

    auto won = race.result(0);
    REQUIRE(won);
    CHECK(won->after == head_state{racers::id(0), 2});
    for (unsigned i = 1; i < count; ++i) {
        auto lost = race.result(i);
        REQUIRE_FALSE(lost);
        CHECK(lost.error().code == errc::conflict);
        CHECK(lost.error().head == racers::id(0));
        CHECK_FALSE(s.store->chunk(user, sha256_of(racers::op(i))).value());
    }
    s.store->drain_writes();
    CHECK(s.groups().back() == count);
    auto answered = race.answered();
    REQUIRE(answered.size() == count);
    CHECK(answered.back() == 0);  // the winner last
    CHECK(s.store->head(user).value() == head_state{racers::id(0), 2});
}

TEST_CASE("a racing group whose commit fails fails every racer, and the HEAD it planned is forgotten") {
    auto fs = std::make_shared<test::fault_fs>();
    auto env = rocksdb::NewCompositeEnv(fs);
    held_store s(env.get());
    constexpr unsigned count = 4;
    racers race(s, count);
    fs->no_space = true;
    s.release();
    const auto& user = racers::user;
    const auto& base = racers::base;

    // Not a conflict naming a HEAD that was never committed: the group's error.
    for (unsigned i = 0; i < count; ++i) {
        auto r = race.result(i);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::insufficient_storage);
    }
    fs->no_space = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (s.store->writes() != storage::write_state::ok && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE(s.store->writes() == storage::write_state::ok);
    auto next = s.store->publish(user, one_transaction("after", make_id(0x44), base));
    REQUIRE(next);
    CHECK(next->before == head_state{base, 1});
    CHECK(next->after == head_state{make_id(0x44), 2});
}

TEST_CASE("after an advance over transactions it did not create, the user's next HEAD write waits for the next group") {
    // The advance commits T1 and T2 on its way to T3, under no stripe of
    // its own: a publish planned after it in its group would read them as
    // uncommitted (the re-send of T2 as HEAD a conflict, the re-sent T1
    // marked uncommitted again).
    held_store s;
    auto user = make_id(0x42);
    auto base = make_id(0x41), t1 = make_id(0x51), t2 = make_id(0x52), t3 = make_id(0x53);
    REQUIRE(s.store->publish(user, one_transaction("base", base, root_id)));
    REQUIRE(s.store->put_transaction(user, {t1, base, std::nullopt, {}}));
    REQUIRE(s.store->put_transaction(user, {t2, t1, std::nullopt, {}}));
    REQUIRE(s.store->put_transaction(user, {t3, t2, std::nullopt, {}}));
    s.hold();
    awaited<publish_result> advance, resent_head, resent_t1;
    publish_request to_t3;
    to_t3.head = t3;
    s.store->publish_queued(user, to_t3, advance.callback());
    publish_request t2_again;
    t2_again.head = t2;
    s.store->publish_queued(user, t2_again, resent_head.callback());
    publish_request t1_again;
    t1_again.transactions = {new_transaction{t1, base, std::nullopt, {}}};
    s.store->publish_queued(user, t1_again, resent_t1.callback());
    s.release();

    CHECK(advance.get().value().after == head_state{t3, 4});
    auto r = resent_head.get();
    REQUIRE(r);
    CHECK_FALSE(r->head_advanced);
    CHECK(r->after == head_state{t3, 4});
    CHECK(resent_t1.get());
    s.store->drain_writes();
    s.store.reset();
    auto report = storage::verify_store(s.dir());
    REQUIRE(report);
    CHECK_MESSAGE(report->clean(), (report->problems.empty() ? "" : report->problems.front()));
}

TEST_CASE("users that share an entry of the lock table never share a HEAD in a group") {
    // Their HEADs are remembered in the one entry: a user planned between
    // two HEAD writes of another would make the second one read its stale
    // HEAD from the store, and win a race already lost.
    auto table = std::make_unique<storage::user_locks>();
    auto a = make_id(0x100);
    uuid b = a;
    for (std::uint64_t i = 0x101; &table->of_user(b) != &table->of_user(a) || b == a; ++i) b = make_id(i);
    held_store s;
    REQUIRE(s.store->publish(a, one_transaction("a base", make_id(0x61), root_id)));
    REQUIRE(s.store->publish(b, one_transaction("b base", make_id(0x62), root_id)));
    s.hold();
    awaited<publish_result> a_wins, b_wins, a_loses;
    s.store->publish_queued(a, one_transaction("a0", make_id(0x71), make_id(0x61)), a_wins.callback());
    s.store->publish_queued(b, one_transaction("b0", make_id(0x72), make_id(0x62)), b_wins.callback());
    s.store->publish_queued(a, one_transaction("a1", make_id(0x73), make_id(0x61)), a_loses.callback());
    s.release();
    CHECK(a_wins.get().value().after == head_state{make_id(0x71), 2});
    CHECK(b_wins.get().value().after == head_state{make_id(0x72), 2});
    auto lost = a_loses.get();
    REQUIRE_FALSE(lost);
    CHECK(lost.error().code == errc::conflict);
    CHECK(s.store->head(a).value() == head_state{make_id(0x71), 2});
}

TEST_CASE("two PUTs of one chunk in one group store it once") {
    held_store s;
    auto user = make_id(0x42);
    const std::string bytes = "the same chunk";
    s.hold();
    awaited<insert_result> one, two;
    s.store->put_chunk_queued(user, sha256_of(bytes), bytes, one.callback());
    s.store->put_chunk_queued(user, sha256_of(bytes), bytes, two.callback());
    s.release();
    CHECK(one.get().value() == insert_result::created);
    CHECK(two.get().value() == insert_result::already_present);
    CHECK(s.store->summary(user).value().bytes == bytes.size());
}

// A pipeline write that runs a script as its plan.
class scripted_write final : public storage::pipeline_write {
public:
    using script = std::function<outcome<void>(rocksdb::WriteBatch&)>;
    scripted_write(const uuid& of, bool head, script plan, bool closes = false)
        : plan_(std::move(plan)), closes_(closes) {
        user = of;
        needs_head = head;
    }
    outcome<void> plan(rocksdb::WriteBatch& batch) override { return plan_(batch); }
    void settle(const outcome<void>&) override {}
    void deliver() override {}
    bool closes_user() const override { return closes_; }

private:
    script plan_;
    bool closes_;
};

// A commit pipeline over its own lock table, committing nothing, whose
// writer can be held before a group (as held_store's).
class held_pipeline {
public:
    held_pipeline()
        : pipeline(locks, [](rocksdb::WriteBatch&) { return outcome<void>{}; }, {}, [this](std::size_t) {
              std::unique_lock lock(mutex_);
              held_ = true;
              changed_.notify_all();
              changed_.wait(lock, [&] { return open_; });
          }) {}
    ~held_pipeline() { release(); }

    // Holds the writer in the group of a write of its own.
    void hold() {
        pipeline.submit(std::make_unique<scripted_write>(make_id(0x43), false, [](rocksdb::WriteBatch&) {
            return outcome<void>{};
        }));
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return held_; });
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        changed_.notify_all();
    }
    void submit(const uuid& user, bool head, scripted_write::script plan, bool closes = false) {
        pipeline.submit(std::make_unique<scripted_write>(user, head, std::move(plan), closes));
    }

    storage::user_locks locks;
    storage::commit_pipeline pipeline;

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false, open_ = false;
};

outcome<void> writes_one(rocksdb::WriteBatch& batch) {
    batch.Put("key", "value");
    return {};
}

TEST_CASE("a plan that fails after forgetting the HEAD an earlier write of its group planned puts it back") {
    auto p = std::make_unique<held_pipeline>();
    auto user = make_id(0x42);
    auto planned = head_state{make_id(1), 7};
    std::optional<head_state> seen_by_third;
    p->hold();
    p->submit(user, true, [&](rocksdb::WriteBatch& batch) {
        p->locks.remember_head(user, planned);
        return writes_one(batch);
    });
    p->submit(user, true, [&](rocksdb::WriteBatch&) {
        p->locks.forget_head(user);
        return outcome<void>(make_error(errc::quota_exceeded, "over quota"));
    });
    p->submit(user, true, [&](rocksdb::WriteBatch&) {
        seen_by_third = p->locks.known_head(user);
        return outcome<void>{};
    });
    p->release();
    p->pipeline.drain();
    CHECK(p->pipeline.groups() == 2);
    CHECK(seen_by_third == planned);
}

TEST_CASE("after a write that commits transactions it did not create, its user's next write waits for the next group") {
    auto p = std::make_unique<held_pipeline>();
    auto user = make_id(0x42);
    p->hold();
    p->submit(user, true, writes_one, true);
    p->submit(user, false, writes_one);  // relies on nothing the first one locks
    p->submit(make_id(0x44), false, writes_one);
    p->release();
    p->pipeline.drain();
    CHECK(p->pipeline.groups() == 3);  // the held one, the closing one, the rest
    CHECK(p->pipeline.writes() == 4);
}

TEST_CASE("queued writes of different users commit as one group, and a write whose rule fails fails alone") {
    held_store s;
    auto a = make_id(0xa), b = make_id(0xb), c = make_id(0xc), d = make_id(0xd);
    // b already has HEAD 1: its publish below names ROOT as the parent of a
    // new transaction that becomes HEAD, a lost compare-and-swap.
    REQUIRE(s.store->publish(b, one_transaction("b0", make_id(1), root_id)));

    awaited<insert_result> blocker;
    s.hold_with([&] { s.store->put_chunk_queued(a, sha256_of("first"), "first", blocker.callback()); });
    awaited<publish_result> pa, pb, pd;
    awaited<insert_result> pc;
    s.store->publish_queued(a, one_transaction("a1", make_id(2), root_id), pa.callback());
    s.store->publish_queued(b, one_transaction("b1", make_id(3), root_id), pb.callback());
    const std::string chunk_c = "c's chunk";
    s.store->put_chunk_queued(c, sha256_of(chunk_c), chunk_c, pc.callback());
    s.store->publish_queued(d, one_transaction("d1", make_id(4), root_id), pd.callback());
    s.release();

    CHECK(blocker.get().value() == insert_result::created);
    auto ra = pa.get();
    REQUIRE(ra);
    CHECK(ra->after == head_state{make_id(2), 1});
    auto rb = pb.get();
    REQUIRE_FALSE(rb);
    CHECK(rb.error().code == errc::conflict);
    CHECK(rb.error().head == make_id(1));
    CHECK(pc.get().value() == insert_result::created);
    CHECK(pd.get().value().after == head_state{make_id(4), 1});
    s.store->drain_writes();
    // The four queued writes met in one group, after the held one's.
    auto groups = s.groups();
    REQUIRE(groups.size() >= 3);
    CHECK(groups[groups.size() - 2] == 1);
    CHECK(groups.back() == 4);

    // The failed write left nothing; the others are all there.
    CHECK(s.store->head(b).value() == head_state{make_id(1), 1});
    CHECK_FALSE(s.store->chunk(b, sha256_of("b1")).value());
    CHECK(s.store->head(a).value().head == make_id(2));
    CHECK(s.store->chunk(c, sha256_of(chunk_c)).value() == chunk_c);
}

TEST_CASE("one user's queued publishes are applied in order, each on the HEAD the one before left") {
    held_store s;
    auto user = make_id(0x77);
    awaited<insert_result> blocker;
    s.hold_with([&] { s.store->put_chunk_queued(user, sha256_of("x"), "x", blocker.callback()); });
    constexpr unsigned count = 40;
    std::vector<std::unique_ptr<awaited<publish_result>>> results;
    uuid parent = root_id;
    for (unsigned i = 1; i <= count; ++i) {
        results.push_back(std::make_unique<awaited<publish_result>>());
        s.store->publish_queued(user, one_transaction("op " + std::to_string(i), make_id(i), parent),
                                results.back()->callback());
        parent = make_id(i);
    }
    s.release();
    for (unsigned i = 1; i <= count; ++i) {
        auto r = results[i - 1]->get();
        REQUIRE(r);
        CHECK(r->after == head_state{make_id(i), i});
        CHECK(r->head_advanced);
    }
    CHECK(s.store->head(user).value() == head_state{make_id(count), count});
}

TEST_CASE("a group holds a user's quota exactly: of two chunks that do not both fit, one is stored") {
    held_store s;
    auto user = make_id(0x99);
    REQUIRE(s.store->set_quota(user, 10));
    awaited<insert_result> blocker;
    s.hold_with([&] { s.store->put_chunk_queued(make_id(0x98), sha256_of("other"), "other", blocker.callback()); });
    const std::string first = "123456", second = "abcdef";
    awaited<insert_result> one, two;
    s.store->put_chunk_queued(user, sha256_of(first), first, one.callback());
    s.store->put_chunk_queued(user, sha256_of(second), second, two.callback());
    s.release();
    auto r1 = one.get();
    auto r2 = two.get();
    REQUIRE(r1);
    REQUIRE_FALSE(r2);
    CHECK(r2.error().code == errc::quota_exceeded);
    CHECK(s.store->summary(user).value().bytes == 6);
    CHECK_FALSE(s.store->chunk(user, sha256_of(second)).value());
}

TEST_CASE("a publish naming many ids commits in a group of its own, and the writes around it go on") {
    held_store s;
    auto user = make_id(0x55), other = make_id(0x56);
    publish_request big;
    std::vector<digest> ids;
    for (int i = 0; i < 300; ++i) {
        auto bytes = "chunk " + std::to_string(i);
        ids.push_back(sha256_of(bytes));
        big.chunks.emplace_back(ids.back(), bytes);
    }
    big.transactions = {new_transaction{make_id(1), root_id, std::nullopt, ids}};
    big.head = make_id(1);
    awaited<insert_result> blocker;
    s.hold_with([&] { s.store->put_chunk_queued(other, sha256_of("o"), "o", blocker.callback()); });
    awaited<publish_result> before, many, after;
    s.store->publish_queued(other, one_transaction("o1", make_id(2), root_id), before.callback());
    s.store->publish_queued(user, std::move(big), many.callback());
    s.store->publish_queued(other, one_transaction("o2", make_id(3), make_id(2)), after.callback());
    s.release();
    CHECK(before.get().value().after.seq == 1);
    CHECK(many.get().value().chunks_created == 300);
    CHECK(after.get().value().after == head_state{make_id(3), 2});
}

TEST_CASE("closing the store finishes every queued write first") {
    test::temp_dir dir;
    storage::store_options options;
    options.dir = dir.path() / "db";
    options.kind = storage::store_kind::rocksdb;
    constexpr int count = 200;
    std::vector<std::string> bodies;
    for (int i = 0; i < count; ++i) bodies.push_back("queued " + std::to_string(i));
    std::mutex mutex;
    int stored = 0;
    {
        auto store = storage::log_store::open(options).value();
        for (const auto& b : bodies)
            store->put_chunk_queued(make_id(1), sha256_of(b), b, [&](outcome<insert_result> r) {
                std::lock_guard lock(mutex);
                if (r && *r == insert_result::created) ++stored;
            });
    }
    CHECK(stored == count);
    auto store = storage::log_store::open(options).value();
    CHECK(store->summary(make_id(1)).value().chunks == count);
}

TEST_CASE("a user deleted while one of its large chunks is being written keeps that chunk whole") {
    held_store s(nullptr, 4096);
    auto user = make_id(0x71);
    std::string bytes(8192, 'x');  // above the threshold: a file of its own
    auto id = sha256_of(bytes);
    auto files = s.dir() / "chunk-files";
    auto file_count = [&] {
        std::error_code ec;
        auto n = std::distance(std::filesystem::directory_iterator(files, ec), std::filesystem::directory_iterator());
        return ec ? 0 : n;
    };
    s.hold();
    awaited<insert_result> put;
    s.store->put_chunk_queued(user, id, bytes, put.callback());
    REQUIRE(test::wait_until([&] { return file_count() == 1; }));  // its reference waits for the writer
    REQUIRE(s.store->delete_user(user));
    s.release();
    CHECK(put.get().value() == insert_result::created);
    CHECK(s.store->chunk(user, id).value() == std::optional<std::string>(bytes));
    CHECK(file_count() == 1);
    s.store.reset();
    auto report = storage::verify_store(s.dir()).value();
    CHECK_MESSAGE(report.clean(), (report.problems.empty() ? std::string() : report.problems.front()));
}

}  // TEST_SUITE
