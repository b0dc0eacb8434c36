// A full disk (injected through test::fault_fs): writes answer
// insufficient_storage and store nothing, reads go on, and once space is
// free again the store takes writes without being reopened, with nothing
// acknowledged lost.
#include "support/fault_fs.hpp"
#include "support/outcome_printer.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/log_store.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using namespace chunklog;
using storage::write_state;

namespace {

using namespace std::chrono_literals;

// A store over fault_fs that retries resuming every few milliseconds and
// keeps what it logs.
struct full_disk_fixture {
    test::temp_dir dir;
    std::shared_ptr<test::fault_fs> fs = std::make_shared<test::fault_fs>();
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
    std::mutex log_mutex;
    std::vector<std::string> log;
    std::unique_ptr<storage::log_store> store;
    uuid user = *uuid::parse("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");

    full_disk_fixture() { reopen(); }

    void reopen() {
        store.reset();
        storage::store_options options{dir.path() / "db"};
        options.env = env.get();
        options.resume_interval = 10ms;
        options.chunk_file_bytes = 0;  // these tests fill the write-ahead log and the memtables
        options.log_error = [this](std::string_view message) {
            std::lock_guard lock(log_mutex);
            log.emplace_back(message);
        };
        auto opened = storage::log_store::open(options);
        REQUIRE(opened);
        store = std::move(*opened);
    }

    outcome<storage::insert_result> put(const std::string& bytes) {
        return store->put_chunk(user, sha256_of(bytes), bytes);
    }

    // Waits, with a deadline, until the store takes writes again.
    bool wait_writable(std::chrono::seconds deadline = 10s) {
        auto until = std::chrono::steady_clock::now() + deadline;
        while (store->writes() != write_state::ok) {
            if (std::chrono::steady_clock::now() > until) return false;
            std::this_thread::sleep_for(2ms);
        }
        return true;
    }

    bool logged(std::string_view part) {
        std::lock_guard lock(log_mutex);
        for (const auto& line : log)
            if (line.find(part) != std::string::npos) return true;
        return false;
    }
};

void check_no_space(const error& e) {
    CHECK(e.code == errc::insufficient_storage);
    CHECK_MESSAGE(e.message.find("no space left on the device") != std::string::npos, e.message);
}

}  // namespace

TEST_SUITE("no_space") {

TEST_CASE("a full disk refuses writes with insufficient_storage, keeps reads, and resumes once space is free") {
    full_disk_fixture f;
    REQUIRE(f.put("before"));
    auto t1 = uuid::random();
    REQUIRE(f.store->put_transaction(f.user, {t1, root_id, std::nullopt, {sha256_of("before")}}));
    REQUIRE(f.store->advance_head(f.user, t1));
    CHECK(f.store->writes() == write_state::ok);

    f.fs->no_space = true;
    auto failed = f.put("during");
    REQUIRE_FALSE(failed);
    check_no_space(failed.error());
    CHECK(f.store->writes() == write_state::no_space);
    CHECK_FALSE(f.store->writable());

    // Every kind of write is refused the same way, at once.
    check_no_space(f.put("during 2").error());
    auto t2 = uuid::random();
    check_no_space(f.store->put_transaction(f.user, {t2, t1, std::nullopt, {}}).error());
    check_no_space(f.store->advance_head(f.user, t1).error());
    storage::publish_request r;
    r.chunks = {{sha256_of("published"), "published"}};
    r.transactions = {{t2, t1, std::nullopt, {sha256_of("published")}}};
    r.head = t2;
    check_no_space(f.store->publish(f.user, r).error());
    check_no_space(f.store->set_quota(f.user, 10).error());
    check_no_space(f.store->delete_user(f.user).error());
    storage::token_record token{"t", f.user, storage::token_scope::write, "", 1, std::nullopt};
    check_no_space(f.store->create_token(sha256_of("secret"), token, false).error());

    // Reads go on, and nothing of the refused writes is there.
    CHECK(f.store->chunk(f.user, sha256_of("before")).value() == std::optional<std::string>("before"));
    CHECK_FALSE(f.store->chunk(f.user, sha256_of("during")).value());
    CHECK(f.store->head(f.user).value().head == t1);
    CHECK(f.store->summary(f.user).value().chunks == 1);

    // Still full: resume attempts keep failing and writes stay refused.
    std::this_thread::sleep_for(100ms);  // ten resume intervals
    CHECK(f.store->writes() == write_state::no_space);
    check_no_space(f.put("during 3").error());

    f.fs->no_space = false;
    REQUIRE(f.wait_writable());
    REQUIRE(f.put("after"));
    auto published = f.store->publish(f.user, r);
    REQUIRE(published);
    CHECK(published->head_advanced);
    CHECK(f.logged("out of disk space"));
    CHECK(f.logged("writes resumed"));

    f.reopen();
    CHECK(f.store->writes() == write_state::ok);
    for (const auto* bytes : {"before", "after", "published"})
        CHECK(f.store->chunk(f.user, sha256_of(bytes)).value() == std::optional<std::string>(bytes));
    for (const auto* bytes : {"during", "during 2", "during 3"})
        CHECK_FALSE(f.store->chunk(f.user, sha256_of(bytes)).value());
    CHECK(f.store->head(f.user).value().head == t2);
    CHECK(f.store->summary(f.user).value().chunks == 3);
}

TEST_CASE("a HEAD advance whose commit fails leaves HEAD where it was, also for the next advance") {
    // The store remembers HEAD between writes (user_locks.hpp): it must not
    // remember one that was never committed.
    full_disk_fixture f;
    auto t1 = uuid::random();
    auto t2 = uuid::random();
    REQUIRE(f.store->put_transaction(f.user, {t1, root_id, std::nullopt, {}}));
    REQUIRE(f.store->advance_head(f.user, t1));
    REQUIRE(f.store->put_transaction(f.user, {t2, t1, std::nullopt, {}}));

    f.fs->no_space = true;
    check_no_space(f.store->advance_head(f.user, t2).error());
    f.fs->no_space = false;
    REQUIRE(f.wait_writable());

    // A sibling of t2 on t1: only possible while HEAD is still t1.
    auto t3 = uuid::random();
    storage::publish_request r;
    r.transactions = {{t3, t1, std::nullopt, {}}};
    r.head = t3;
    auto published = f.store->publish(f.user, r);
    REQUIRE(published);
    CHECK(published->before == head_state{t1, 1});
    CHECK(published->after == head_state{t3, 2});
    CHECK(f.store->head(f.user).value() == head_state{t3, 2});
}

TEST_CASE("a background flush running out of space stops writes too, until space is free") {
    full_disk_fixture f;
    f.fs->no_space_for_tables = true;  // the WAL still takes writes; flushes cannot write tables
    // 1 MiB chunks fill the chunks family's 16 MiB memtable: a flush starts
    // and fails in the background, and the store refuses writes from then on.
    std::vector<std::string> acked;
    error refusal;
    for (int i = 0; i < 64; ++i) {
        auto bytes = std::to_string(i) + std::string(1 << 20, 'b');
        auto r = f.put(bytes);
        if (!r) {
            refusal = r.error();
            break;
        }
        acked.push_back(bytes);
    }
    REQUIRE(f.store->writes() == write_state::no_space);
    check_no_space(refusal);
    CHECK(acked.size() >= 16);
    check_no_space(f.put("refused").error());
    CHECK(f.store->chunk(f.user, sha256_of(acked.front())).value() == std::optional<std::string>(acked.front()));

    f.fs->no_space_for_tables = false;
    REQUIRE(f.wait_writable());
    REQUIRE(f.put("after"));
    f.reopen();
    for (const auto& bytes : acked)
        CHECK(f.store->chunk(f.user, sha256_of(bytes)).value() == std::optional<std::string>(bytes));
    CHECK(f.store->chunk(f.user, sha256_of("after")).value() == std::optional<std::string>("after"));
    CHECK_FALSE(f.store->chunk(f.user, sha256_of("refused")).value());
}

TEST_CASE("writers running into a full disk lose nothing they were told was stored") {
    full_disk_fixture f;
    constexpr int writers = 4;
    std::atomic<bool> stop{false};
    std::atomic<int> refused{0};
    std::mutex acked_mutex;
    std::vector<std::string> acked;
    std::vector<std::thread> pool;
    for (int w = 0; w < writers; ++w)
        pool.emplace_back([&, w] {
            for (int i = 0; !stop; ++i) {
                auto bytes = "writer " + std::to_string(w) + " chunk " + std::to_string(i) + std::string(3000, 'x');
                auto r = f.put(bytes);
                if (r) {
                    std::lock_guard lock(acked_mutex);
                    acked.push_back(bytes);
                } else {
                    // Never unavailable: running out of space is not a broken store.
                    CHECK_MESSAGE(r.error().code == errc::insufficient_storage, r.error().message);
                    ++refused;
                }
            }
        });

    auto wait_for = [&](auto done) {
        auto until = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
        return done();
    };
    auto acked_count = [&] {
        std::lock_guard lock(acked_mutex);
        return acked.size();
    };
    for (int round = 0; round < 3; ++round) {
        auto before = acked_count();
        REQUIRE(wait_for([&] { return acked_count() > before + 20; }));
        auto refused_before = refused.load();
        f.fs->no_space = true;
        REQUIRE(wait_for([&] { return refused.load() > refused_before + 20; }));
        CHECK(f.store->writes() == write_state::no_space);
        f.fs->no_space = false;
        REQUIRE(f.wait_writable());
    }
    stop = true;
    for (auto& t : pool) t.join();
    CHECK(f.store->writes() == write_state::ok);

    f.reopen();
    std::size_t lost = 0;
    for (const auto& bytes : acked)
        if (f.store->chunk(f.user, sha256_of(bytes)).value() != std::optional<std::string>(bytes)) ++lost;
    CHECK(lost == 0);
    CHECK(f.store->summary(f.user).value().chunks == acked.size());
}

}
