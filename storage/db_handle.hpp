// db_handle: the open RocksDB instance with the store's two column families,
// its options, and the one place where rocksdb::Status becomes a chunklog
// error. commit() applies a WriteBatch (synced by default) and makes a
// failure sticky: after one failed write every later commit is refused.
// Thread-safe, like rocksdb::DB itself.
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <memory>

namespace chunklog::storage {

class db_handle {
public:
    static outcome<std::unique_ptr<db_handle>> open(const store_options& options);
    ~db_handle();

    rocksdb::DB& db() { return *db_; }
    rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
    rocksdb::ColumnFamilyHandle* chunks() const { return chunks_; }

    bool writable() const noexcept { return !failed_.load(std::memory_order_acquire); }
    outcome<void> commit(rocksdb::WriteBatch& batch);

    // Reads one key; nullopt when absent.
    outcome<std::optional<std::string>> get(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                            const rocksdb::Snapshot* snapshot = nullptr);

    // get() from the memtables and caches only (ReadOptions::read_tier =
    // kBlockCacheTier); on_disk when the value would need a file read.
    outcome<cached_read<std::string>> get_cached(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                                 const rocksdb::Snapshot* snapshot = nullptr);

    static error read_error(const rocksdb::Status& s);

private:
    db_handle() = default;
    std::unique_ptr<rocksdb::DB> db_;
    rocksdb::ColumnFamilyHandle* meta_ = nullptr;
    rocksdb::ColumnFamilyHandle* chunks_ = nullptr;
    rocksdb::WriteOptions write_options_;
    std::function<void(std::string_view)> log_error_;
    std::atomic<bool> failed_{false};
};

}  // namespace chunklog::storage
