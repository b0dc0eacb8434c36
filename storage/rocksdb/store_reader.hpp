// store_reader: a read-only view of a data directory, also while a server
// runs on it. It opens the directory as a RocksDB secondary instance, which
// takes no lock, keeps every table file open (so the server's compactions
// cannot pull one away mid-read) and replays the server's write-ahead log up
// to a point between two of its write batches. Every store write is one
// batch, so what the reader sees is a state the store was in: each publish
// whole or absent. The view stays fixed until the reader is closed.
// Thread-safe for reads, like rocksdb::DB.
#pragma once

#include "storage/rocksdb/chunk_files.hpp"

#include <chunklog/errors.hpp>

#include <rocksdb/db.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace chunklog::storage {

class store_reader {
public:
    // errc::not_found when `dir` holds no store; errc::internal when it
    // cannot be read.
    static outcome<std::unique_ptr<store_reader>> open(const std::filesystem::path& dir);
    ~store_reader();
    store_reader(const store_reader&) = delete;
    store_reader& operator=(const store_reader&) = delete;

    rocksdb::DB& db() { return *db_; }
    rocksdb::ColumnFamilyHandle* meta() const { return handles_[0]; }
    rocksdb::ColumnFamilyHandle* chunks() const { return handles_[1]; }
    rocksdb::ColumnFamilyHandle* accounts() const { return handles_[2]; }
    // The column families this code does not know (a newer format's).
    std::size_t unknown_families() const { return handles_.size() - 3; }

    // The format record; nullopt when absent (format 1, or an empty store).
    outcome<std::optional<std::uint64_t>> format();

    // An iterator over a family that does not fill the read cache (a whole-
    // store scan would only evict itself).
    std::unique_ptr<rocksdb::Iterator> scan(rocksdb::ColumnFamilyHandle* cf);

    // The directory's chunk files (a chunks-family value may refer to one:
    // chunk_files::resolve() reads the bytes either way). A file the server
    // removed after this view was taken (its chunk collected since) reads as
    // missing.
    const chunk_files& files() const { return *files_; }

private:
    store_reader() = default;

    std::filesystem::path secondary_dir_;  // the secondary's own files, removed on close
    std::unique_ptr<chunk_files> files_;
    std::unique_ptr<rocksdb::DB> db_;
    std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace chunklog::storage
