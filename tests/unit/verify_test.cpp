// storage::verify_store, backup_store and restore_store on stores built
// through the log store: a sound store verifies clean, each kind of damage
// made on purpose with raw RocksDB writes is reported by name, and a backup
// is a store of its own that verifies and restores.
#include "support/gc_fixture.hpp"

#include "storage/rocksdb/keys.hpp"

#include <algorithm>

using namespace chunklog;
using chunklog::test::make_id;
using chunklog::test::raw_db;
using namespace std::chrono_literals;
namespace keys = chunklog::storage::keys;

namespace {

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
    return std::any_of(problems.begin(), problems.end(), [&](const auto& p) { return p.find(text) != std::string::npos; });
}

std::string listed(const std::vector<std::string>& problems) {
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    return all;
}

// A user with a committed chain, a pending branch, a snapshot and a token.
struct verified_store : test::gc_fixture {
    verified_store() {
        chain(1, 5, root_id);
        transaction(make_id(100), make_id(3), {chunk("pending chunk")});
        REQUIRE(store->put_snapshot(user, make_id(4), std::vector<digest>{chunk("snapshot chunk")}));
        storage::token_record token{"laptop", user, storage::token_scope::write, "a label", 1'700'000'000, std::nullopt};
        REQUIRE(store->create_token(sha256_of("secret"), token, false));
        store.reset();
    }
};

}  // namespace

TEST_CASE_FIXTURE(verified_store, "a sound store verifies clean, with its contents counted") {
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(report->clean());
    CHECK(report->format == keys::current_format);
    CHECK(report->users == 1);
    CHECK(report->transactions == 6);
    CHECK(report->chunks == 7);
    CHECK(report->tokens == 1);
}

TEST_CASE_FIXTURE(verified_store, "a flipped byte in a chunk is reported as a corrupt chunk") {
    auto id = sha256_of("chunk 2");
    {
        raw_db db(options.dir);
        auto bytes = db.get(db.chunks(), keys::chunk(user, id));
        REQUIRE(bytes);
        (*bytes)[0] ^= 0x01;
        db.put(db.chunks(), keys::chunk(user, id), *bytes);
    }
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(report->problem_count == 1);
    CHECK(mentions(report->problems, "chunk " + id.to_string().substr(0, 16) + " is corrupt"));
}

TEST_CASE_FIXTURE(verified_store, "a missing chain key is reported with its seq") {
    {
        raw_db db(options.dir);
        db.remove(db.meta(), keys::chain(user, 3));
    }
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(mentions(report->problems, "no chain entry at seq 3"));
    // Transaction 3 now looks committed to nothing: the uncommitted index disagrees.
    CHECK(mentions(report->problems, "transaction " + make_id(3).to_string() + " is not committed and not in the uncommitted index"));
}

TEST_CASE_FIXTURE(verified_store, "a wrong counter is reported against what is stored") {
    {
        raw_db db(options.dir);
        db.put(db.meta(), keys::stats(user), keys::encode_stats({9, 12}));
    }
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(report->problem_count == 1);
    CHECK(mentions(report->problems, "counters say 9 chunks, 12 bytes; stored: 7 chunks"));
}

TEST_CASE_FIXTURE(verified_store, "broken references, children index, snapshot and token index are each reported") {
    auto pending_chunk = sha256_of("pending chunk");
    {
        raw_db db(options.dir);
        db.put(db.meta(), keys::references(user, pending_chunk), keys::encode_references(2));
        db.remove(db.meta(), keys::child(user, make_id(1), make_id(2)));
        db.put(db.meta(), keys::child(user, make_id(7), make_id(8)), "");
        db.put(db.meta(), keys::snapshot(user),
               keys::encode_snapshot({make_id(100), 4, 1, {sha256_of("snapshot chunk")}}));
        db.remove(db.accounts(), keys::token_index(user, 1));
    }
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(mentions(report->problems, "has 2 references, expected 1"));
    CHECK(mentions(report->problems, "children index lacks " + make_id(1).to_string() + " -> " + make_id(2).to_string()));
    CHECK(mentions(report->problems, "stray children index entry"));
    CHECK(mentions(report->problems, "the snapshot's transaction " + make_id(100).to_string() + " is not committed"));
    CHECK(mentions(report->problems, "token laptop is missing from the user's token index"));
}

TEST_CASE_FIXTURE(verified_store, "a backup is a store of its own that verifies and restores, and targets that hold data are refused") {
    auto backup = dir.path() / "backup";
    auto copied = storage::backup_store(options.dir, backup);
    REQUIRE(copied);
    CHECK(copied->format == keys::current_format);
    CHECK(copied->keys > 0);
    CHECK(test::check_store(backup).empty());
    CHECK_FALSE(std::filesystem::exists(dir.path() / "backup.partial"));

    auto again = storage::backup_store(options.dir, backup);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == errc::conflict);

    auto restored_dir = dir.path() / "restored";
    REQUIRE(storage::restore_store(backup, restored_dir));
    options.dir = restored_dir;
    reopen();
    CHECK(store->head(user).value() == head_state{make_id(5), 5});
    CHECK(has_chunk("pending chunk"));
    CHECK(store->snapshot(user).value()->transaction == make_id(4));
    CHECK(store->find_token(sha256_of("secret")).value()->id == "laptop");
}

TEST_CASE_FIXTURE(verified_store, "a damaged backup is not restored, and the first problem is named") {
    auto backup = dir.path() / "backup";
    REQUIRE(storage::backup_store(options.dir, backup));
    {
        raw_db db(backup);
        db.remove(db.meta(), keys::chain(user, 2));
    }
    auto restored = storage::restore_store(backup, dir.path() / "restored");
    REQUIRE_FALSE(restored);
    CHECK(restored.error().message.find("no chain entry at seq 2") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "restored"));
}

TEST_CASE("verify and backup name a directory without a store") {
    test::temp_dir dir;
    auto report = storage::verify_store(dir.path() / "nothing");
    REQUIRE_FALSE(report);
    CHECK(report.error().code == errc::not_found);
    auto copied = storage::backup_store(dir.path() / "nothing", dir.path() / "to");
    REQUIRE_FALSE(copied);
    CHECK(copied.error().code == errc::not_found);
}

TEST_CASE_FIXTURE(test::gc_fixture, "verify reads a store while a log store has it open, seeing every write made so far") {
    chain(1, 3, root_id);
    auto report = storage::verify_store(options.dir);
    REQUIRE(report);
    INFO(listed(report->problems));
    CHECK(report->clean());
    CHECK(report->transactions == 3);
}
