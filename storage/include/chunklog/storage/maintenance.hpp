// Maintenance of a store, also while a server runs on it:
// verify_store checks every invariant of the store, backup_store makes a
// consistent copy, restore_store puts a verified copy in place,
// migrate_to_postgresql moves a store's users into PostgreSQL. Each reads
// through a RocksDB secondary instance (storage/store_reader.hpp), so it
// sees one state the store was in, each write whole or absent. Blocking
// calls; safe to run from any thread, and beside a running server.
#pragma once

#include <chunklog/errors.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog::storage {

struct verify_report {
    std::uint64_t format = 0;  // the store format the directory records (1: none recorded)
    std::uint64_t users = 0;
    std::uint64_t transactions = 0;
    std::uint64_t chunks = 0;
    std::uint64_t chunk_bytes = 0;
    std::uint64_t tokens = 0;
    std::uint64_t problem_count = 0;
    std::vector<std::string> problems;  // the first max_listed_problems, in key order

    static constexpr std::size_t max_listed_problems = 1000;
    bool clean() const { return problem_count == 0; }
};

// Reads the whole store in `dir`: re-hashes every chunk, and checks the
// chunk records and counters against the bytes, the reference counts against
// the transactions and the snapshot, the committed chain against the parent
// links and HEAD, the children and uncommitted indexes, history truncation
// against the snapshot, and the accounts (tokens and their index). Memory:
// one user's metadata at a time. An error only when `dir` cannot be read.
outcome<verify_report> verify_store(const std::filesystem::path& dir);

// The same checks on a PostgreSQL store (`conninfo`: a libpq connection
// string), from one repeatable-read transaction: chunk hashes and sizes, the
// counters, the reference counts, the chain against the parent links and
// HEAD, the snapshot, the truncation point and the origin parent. `format`
// is the schema version.
outcome<verify_report> verify_postgresql(const std::string& conninfo);

struct copy_report {
    std::uint64_t format = 0;
    std::uint64_t keys = 0;
    std::uint64_t bytes = 0;  // keys and values copied
};

// Copies the store in `dir` into `to`, which must not exist or be empty: a
// new store directory that a server can open, holding one state of the
// source (a publish racing the copy is in it whole or not at all). The copy
// is written beside `to` and renamed into place once synced, so `to` never
// holds half a backup. Refuses a store of a newer format than this code's.
// `carry` names files beside the store in `dir` (the server's admin token)
// to copy along when present, with their permissions.
outcome<copy_report> backup_store(const std::filesystem::path& dir, const std::filesystem::path& to,
                                  const std::vector<std::string>& carry = {});

// Verifies the backup in `from` and copies it into `to` (which must not
// exist or be empty) the same way; refuses a backup that verify_store finds
// a problem in, naming the first.
outcome<copy_report> restore_store(const std::filesystem::path& from, const std::filesystem::path& to,
                                   const std::vector<std::string>& carry = {});

struct migrate_report {
    std::uint64_t users_migrated = 0;
    std::uint64_t users_skipped = 0;  // recorded as migrated by an earlier run
    std::uint64_t transactions = 0;   // written by this run, as are the next three
    std::uint64_t chunks = 0;
    std::uint64_t chunk_bytes = 0;
    std::uint64_t tokens = 0;
    std::uint64_t problem_count = 0;   // what the final verification found
    std::vector<std::string> problems;  // the first max_listed_problems, by user

    static constexpr std::size_t max_listed_problems = 1000;
    bool clean() const { return problem_count == 0; }
};

// Moves every user of the RocksDB store in `from` (read through a secondary
// instance: one state of it, also while a server runs on it) into the
// PostgreSQL store at `conninfo`, whose schema it creates or upgrades: each
// user in one database transaction (data, snapshot, tokens and quota),
// recorded in chunklog_migrated, so a run cut short resumes where it stopped
// and a user already migrated is skipped. Refuses a source of another store
// format and a user that has rows in the destination without having been
// migrated. Then compares every user's counts and committed chain between
// the two and runs verify_postgresql: the migration succeeded only when the
// report is clean(). `progress` hears one line per user.
outcome<migrate_report> migrate_to_postgresql(const std::filesystem::path& from, const std::string& conninfo,
                                              const std::function<void(std::string_view)>& progress);

}  // namespace chunklog::storage
