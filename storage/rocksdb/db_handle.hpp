// db_handle: the open RocksDB instance with the store's three column
// families, its options, and the one place where rocksdb::Status becomes a
// chunklog error. commit() applies a WriteBatch (synced by default) and
// keeps the store's write state: a write that fails for lack of space moves
// it to write_state::no_space, where commits are refused at once
// (errc::insufficient_storage) while a thread owned by the handle calls
// DB::Resume() every resume_interval until RocksDB takes writes again (an
// event listener also moves there on a background out-of-space error, and
// turns RocksDB's own, slower recovery off for those); any other write
// failure (or a no-space one RocksDB cannot resume from) is
// write_state::failed, sticky until reopened (errc::unavailable).
// Thread-safe, like rocksdb::DB itself.
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace rocksdb {
class Cache;
}

namespace chunklog::storage {

// The store's column families with their options ("default" for metadata,
// "chunks", "accounts"), then any other family `dir` holds (a newer format's),
// with default options: RocksDB opens a directory only with all of them.
std::vector<rocksdb::ColumnFamilyDescriptor> store_families(const rocksdb::DBOptions& db_options,
                                                            const std::filesystem::path& dir,
                                                            const std::shared_ptr<rocksdb::Cache>& cache);

class db_handle {
public:
    static outcome<std::unique_ptr<db_handle>> open(const store_options& options);
    ~db_handle();
    db_handle(const db_handle&) = delete;
    db_handle& operator=(const db_handle&) = delete;

    rocksdb::DB& db() { return *db_; }
    rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
    rocksdb::ColumnFamilyHandle* chunks() const { return chunks_; }
    rocksdb::ColumnFamilyHandle* accounts() const { return accounts_; }

    write_state writes() const noexcept { return state_.load(std::memory_order_acquire); }
    bool writable() const noexcept { return writes() == write_state::ok; }
    // The error a write gets now without trying (none while writable).
    outcome<void> check_writable() const;
    outcome<void> commit(rocksdb::WriteBatch& batch);
    // A write that need not survive a crash on its own (garbage collection,
    // format upgrades): not synced, but never reordered before an earlier
    // write, and synced by the next synced write or by sync_wal().
    outcome<void> commit_unsynced(rocksdb::WriteBatch& batch);
    // Makes every earlier write durable (a no-op when syncing is off).
    outcome<void> sync_wal();
    bool syncs() const { return write_options_.sync; }

    // Reads one key; nullopt when absent.
    outcome<std::optional<std::string>> get(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                            const rocksdb::Snapshot* snapshot = nullptr);

    // get() from the memtables and caches only (ReadOptions::read_tier =
    // kBlockCacheTier); on_disk when the value would need a file read.
    outcome<cached_read<std::string>> get_cached(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                                 const rocksdb::Snapshot* snapshot = nullptr);

    static error read_error(const rocksdb::Status& s);

    // A write of `bytes` outside RocksDB (a chunk file) found the disk full:
    // commits are refused as for a full write-ahead log, until RocksDB takes
    // writes and the data directory's file system has room for that write
    // again (RocksDB alone, holding no error, would resume at once).
    void enter_no_space_for_file(const std::string& cause, std::uint64_t bytes);

    // Reports what the store cannot return as an error (store_options::log_error).
    void report(const std::string& message) const;

private:
    class no_space_listener;
    db_handle() = default;
    void enter_no_space(const std::string& cause);
    bool has_room_for_files() const;
    void enter_failed();
    void run_resumer();
    outcome<void> write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch& batch);

    std::unique_ptr<rocksdb::DB> db_;
    rocksdb::ColumnFamilyHandle* meta_ = nullptr;
    rocksdb::ColumnFamilyHandle* chunks_ = nullptr;
    rocksdb::ColumnFamilyHandle* accounts_ = nullptr;
    // Families this version does not know (a newer format's), opened only
    // so that the store can read the format version and refuse the directory.
    std::vector<rocksdb::ColumnFamilyHandle*> unknown_families_;
    rocksdb::WriteOptions write_options_;
    std::function<void(std::string_view)> log_error_;
    std::atomic<write_state> state_{write_state::ok};

    // The resumer: waits for no_space, then tries DB::Resume() every interval.
    std::chrono::milliseconds resume_interval_{1000};
    std::filesystem::path dir_;
    std::atomic<std::uint64_t> file_room_needed_{0};  // 0: no chunk file write is waiting for room
    std::mutex resume_mutex_;
    std::condition_variable resume_wake_;
    bool stopping_ = false;  // guarded by resume_mutex_
    std::thread resumer_;
};

}  // namespace chunklog::storage
