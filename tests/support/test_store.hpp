// Which store the storage and end-to-end tests run on: the RocksDB store,
// or, when CHUNKLOG_TEST_STORE=postgresql, the PostgreSQL store on the
// throwaway cluster that scripts/test.sh starts (CHUNKLOG_TEST_POSTGRES: its
// libpq connection string). On PostgreSQL each store the tests name by a
// directory gets its own schema in one database, so a test that reopens or
// restarts on the same directory finds its data again. Thread-safe.
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace chunklog::test {

bool on_postgresql();

// A connection string for the schema of the store named by `dir` (made on first use).
std::string postgresql_conninfo(const std::filesystem::path& dir);

// Options for a store at `dir` (its data directory on RocksDB).
storage::store_options store_options_for(const std::filesystem::path& dir);

// chunklogd arguments that put a server with data directory `data_dir` on the tests' store.
std::vector<std::string> store_args_for(const std::filesystem::path& data_dir);

}  // namespace chunklog::test
