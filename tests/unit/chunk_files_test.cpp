// Large chunks written once (storage/rocksdb/chunk_files.hpp): a chunk PUT
// at or above the threshold keeps its bytes in a file of their own and a
// reference in the chunks family; every reader gets the bytes; a file stays
// only while a chunk refers to it (re-sends, races, quota refusals, garbage
// collection, user deletion, a crash between file and reference); a full
// disk loses nothing; verify, backup and restore follow the references.
#include "support/fault_store.hpp"
#include "support/gc_fixture.hpp"

#include "storage/rocksdb/chunk_files.hpp"
#include "storage/rocksdb/keys.hpp"

#include <chunklog/storage/log_cursor.hpp>

#include <fstream>
#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using chunklog::test::raw_db;
using namespace std::chrono_literals;
namespace keys = chunklog::storage::keys;

namespace {

constexpr std::size_t threshold = 4096;

std::string large(char fill, std::size_t extra = 0) { return std::string(threshold + extra, fill); }

struct file_store : test::gc_fixture {
    file_store() {
        options.chunk_file_bytes = threshold;
        reopen();
    }

    std::filesystem::path files_dir() const { return options.dir / "chunk-files"; }

    std::vector<std::string> files() const {
        std::vector<std::string> names;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(files_dir(), ec)) names.push_back(e.path().filename());
        return names;
    }

    // The chunks family's value for a chunk of the user, read raw (the store closed).
    std::optional<std::string> raw_value(const std::string& bytes) {
        store.reset();
        raw_db db(options.dir);
        auto value = db.get(db.chunks(), keys::chunk(user, sha256_of(bytes)));
        return value;
    }
};

}  // namespace

TEST_CASE_FIXTURE(file_store, "a chunk at the threshold is written to a file and read back whole by every reader") {
    auto big = large('b');
    auto small = std::string(threshold - 1, 's');
    auto big_id = chunk(big);
    chunk(small);
    CHECK(files().size() == 1);
    CHECK(store->chunk(user, big_id).value() == big);
    CHECK(store->chunk_size(user, big_id).value() == threshold);
    auto cached = store->cached_chunk(user, big_id);
    REQUIRE(cached);
    CHECK(cached->on_disk);  // a file read never happens on the caller's thread

    transaction(make_id(1), root_id, {big_id});
    REQUIRE(store->advance_head(user, make_id(1)));
    {
        auto log = store->open_log(user, root_id);
        REQUIRE(log);
        REQUIRE(log->next().value());
        CHECK(log->chunk(big_id).value() == big);
        CHECK(log->cached_chunk(big_id).value() == std::nullopt);
    }

    auto value = raw_value(big);
    REQUIRE(value);
    CHECK(value->size() == 32);
    auto ref = storage::decode_chunk_file_ref(big_id, *value);
    REQUIRE(ref);
    CHECK(ref->size == threshold);
    CHECK(raw_value(small) == small);
    check_invariants();
}

TEST_CASE_FIXTURE(file_store, "a 32-byte chunk that looks like a reference is kept and read as itself") {
    auto lookalike = storage::encode_chunk_file_ref({7, 5000});
    auto id = chunk(lookalike);
    CHECK_FALSE(storage::decode_chunk_file_ref(id, lookalike));
    CHECK(store->chunk(user, id).value() == lookalike);
    CHECK(files().empty());
    check_invariants();
}

TEST_CASE_FIXTURE(file_store, "a chunk sent again, or by many clients at once, leaves one file") {
    auto big = large('c', 100);
    auto id = sha256_of(big);
    std::atomic<int> created{0}, present{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
        clients.emplace_back([&] {
            auto r = store->put_chunk(user, id, big);
            CHECK(r);
            if (r) (*r == storage::insert_result::created ? created : present)++;
        });
    for (auto& c : clients) c.join();
    CHECK(created == 1);
    CHECK(present == 7);
    CHECK(store->put_chunk(user, id, big).value() == storage::insert_result::already_present);
    CHECK(files().size() == 1);
    CHECK(store->chunk(user, id).value() == big);
    check_invariants();
}

TEST_CASE_FIXTURE(file_store, "a chunk refused for the quota leaves no file") {
    REQUIRE(store->set_quota(user, threshold + 10));
    chunk(large('q'));
    auto refused = store->put_chunk(user, sha256_of(large('r')), large('r'));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::quota_exceeded);
    CHECK(files().size() == 1);
}

TEST_CASE_FIXTURE(file_store, "garbage collection and user deletion remove the files of the chunks they remove") {
    auto other = make_id(0xdef);
    chunk(large('g'));
    chunk(large('h'), other);
    pass_time(2h);
    auto r = collect();
    CHECK(r.chunks == 2);
    CHECK(files().empty());

    chunk(large('i'));
    chunk(large('j'), other);
    CHECK(files().size() == 2);
    REQUIRE(store->delete_user(user));
    auto left = files();
    REQUIRE(left.size() == 1);
    CHECK(left[0].starts_with(other.to_string()));
    CHECK(store->chunk(other, sha256_of(large('j'))).value() == large('j'));
}

TEST_CASE_FIXTURE(file_store, "files no chunk refers to are removed when the store opens, and only those") {
    auto kept = chunk(large('k'));
    store.reset();
    std::filesystem::path orphan = files_dir() / (user.to_string() + "." + kept.to_string() + ".0000000000001234");
    std::ofstream(orphan) << "a file written before a crash, its reference never committed";
    std::ofstream(files_dir() / "notes.txt") << "not the store's";
    reopen();
    CHECK_FALSE(std::filesystem::exists(orphan));
    CHECK(std::filesystem::exists(files_dir() / "notes.txt"));
    CHECK(files().size() == 2);
    CHECK(store->chunk(user, kept).value() == large('k'));
}

TEST_CASE("a chunk file the disk has no room for is refused with insufficient_storage and loses nothing") {
    test::fault_store_dir faulty;
    auto& fs = faulty.fs;
    auto& options = faulty.options;
    options.chunk_file_bytes = threshold;
    options.resume_interval = 10ms;
    options.log_error = [](std::string_view) {};
    auto store = storage::log_store::open(options).value();
    auto user = make_id(1);
    auto big = large('n');
    fs->no_space = true;
    auto refused = store->put_chunk(user, sha256_of(big), big);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::insufficient_storage);
    CHECK(store->writes() != storage::write_state::failed);  // only out of space
    CHECK(store->put_chunk(user, sha256_of("small"), "small").error().code == errc::insufficient_storage);
    CHECK(std::filesystem::is_empty(options.dir / "chunk-files"));
    CHECK(store->chunk(user, sha256_of(big)).value() == std::nullopt);
    fs->no_space = false;
    while (store->writes() != storage::write_state::ok) std::this_thread::yield();  // the resumer tries every 10 ms
    CHECK(store->put_chunk(user, sha256_of(big), big).value() == storage::insert_result::created);
    CHECK(store->chunk(user, sha256_of(big)).value() == big);
}

TEST_CASE_FIXTURE(file_store, "a format 2 directory opens as the current format, its chunks unchanged") {
    chunk("small");
    store.reset();
    {
        raw_db db(options.dir);
        db.put(db.accounts(), keys::format_version(), keys::encode_u64(2));
    }
    reopen();
    CHECK(has_chunk("small"));
    store.reset();
    raw_db db(options.dir);
    CHECK(db.get(db.accounts(), keys::format_version()) == keys::encode_u64(keys::current_format));
}

TEST_CASE_FIXTURE(file_store, "backup and restore carry the files, and verify reads them and names a missing one") {
    auto big = large('v', 1);
    auto id = chunk(big);
    transaction(make_id(1), root_id, {id});
    REQUIRE(store->advance_head(user, make_id(1)));
    store.reset();

    auto backup = dir.path() / "backup";
    REQUIRE(storage::backup_store(options.dir, backup));
    CHECK(test::check_store(backup).empty());
    auto restored = dir.path() / "restored";
    REQUIRE(storage::restore_store(backup, restored));

    auto original = files();
    REQUIRE(original.size() == 1);
    std::filesystem::remove(files_dir() / original[0]);
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    REQUIRE(report->problem_count >= 1);
    CHECK(report->problems[0].find("its file is unreadable") != std::string::npos);

    options.dir = restored;
    reopen();
    CHECK(store->chunk(user, id).value() == big);
}

TEST_CASE_FIXTURE(file_store, "a log cursor reads a chunk file that garbage collection or a DELETE removed after it opened") {
    auto old_state = chunk(large('s'));
    chain(1, 1, root_id);
    REQUIRE(store->put_snapshot(user, make_id(1), std::vector{old_state}));
    {
        auto old_cursor = store->open_log(user, root_id, true).value();
        REQUIRE(old_cursor.snapshot());
        // A newer snapshot drops the old one's chunk, which is past the grace period.
        auto new_state = chunk(large('t'));
        chain(2, 2, make_id(1));
        REQUIRE(store->put_snapshot(user, make_id(2), std::vector{new_state}));
        pass_time(2 * options.gc_grace);
        CHECK(collect().chunks >= 1);
        CHECK_FALSE(has_chunk(large('s')));
        CHECK(old_cursor.chunk(old_state).value() == std::optional<std::string>(large('s')));

        auto new_cursor = store->open_log(user, root_id, true).value();
        REQUIRE(store->delete_user(user));
        CHECK(new_cursor.chunk(new_state).value() == std::optional<std::string>(large('t')));
        CHECK(files().size() == 2);  // kept for the cursors
    }
    collect();  // the cursors are gone: so are the files
    CHECK(files().empty());
    check_invariants();
}

TEST_CASE("a chunk file that cannot be removed fails no DELETE: it is reported, then swept when the store opens") {
    test::fault_store_dir faulty;
    auto& fs = faulty.fs;
    auto& options = faulty.options;
    options.chunk_file_bytes = threshold;
    std::mutex mutex;
    std::vector<std::string> reported;
    options.log_error = [&](std::string_view line) {
        std::lock_guard lock(mutex);
        reported.emplace_back(line);
    };
    auto user = make_id(1);
    auto big = large('r');
    {
        auto store = storage::log_store::open(options).value();
        REQUIRE(store->put_chunk(user, sha256_of(big), big).value() == storage::insert_result::created);
        fs->fail_deletes_of("chunk-files");
        CHECK(store->delete_user(user));
        CHECK(store->chunk(user, sha256_of(big)).value() == std::nullopt);
        CHECK(store->collect_garbage());
        fs->fail_deletes_of("");
        std::lock_guard lock(mutex);
        REQUIRE(reported.size() == 1);
        CHECK(reported[0].find("cannot delete") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::is_empty(options.dir / "chunk-files"));
    auto reopened = storage::log_store::open(options).value();
    CHECK(std::filesystem::is_empty(options.dir / "chunk-files"));
}
