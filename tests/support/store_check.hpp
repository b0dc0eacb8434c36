// Tests' access to a closed store: check_store lists every broken invariant
// of the store (storage::verify_store or verify_postgresql, which `chunklogd
// verify` runs), and raw_db opens the directory with raw RocksDB calls and the
// store's own family options, to write old layouts or corrupt it on purpose.
// Single-threaded.
#pragma once

#include "storage/rocksdb/db_handle.hpp"

#include <chunklog/storage/maintenance.hpp>

#include <doctest/doctest.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::test {

// Every broken invariant of the store in `dir`; empty when sound.
inline std::vector<std::string> check_store(const std::filesystem::path& dir) {
    auto report = storage::verify_store(dir);
    if (!report) return {"cannot verify: " + report.error().message};
    return report->problems;
}

// The same for the store `options` name, on RocksDB or PostgreSQL.
inline std::vector<std::string> check_store(const storage::store_options& options) {
    if (options.kind == storage::store_kind::rocksdb) return check_store(options.dir);
    auto report = storage::verify_postgresql(options.connection);
    if (!report) return {"cannot verify: " + report.error().message};
    return report->problems;
}

// A raw RocksDB handle on a store directory with the store's three families
// (and `extra_families`, created when missing).
class raw_db {
public:
    explicit raw_db(const std::filesystem::path& dir, const std::vector<std::string>& extra_families = {}) {
        rocksdb::DBOptions options;
        options.create_if_missing = true;
        options.create_missing_column_families = true;
        auto families = storage::store_families(options, dir, rocksdb::NewLRUCache(1 << 20));
        for (const auto& f : extra_families)
            if (std::none_of(families.begin(), families.end(), [&](const auto& d) { return d.name == f; }))
                families.emplace_back(f, rocksdb::ColumnFamilyOptions{});
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(options, dir.string(), families, &handles_, &raw).ok());
        db_.reset(raw);
    }
    ~raw_db() {
        for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
        db_->Close();
    }
    raw_db(const raw_db&) = delete;
    raw_db& operator=(const raw_db&) = delete;

    rocksdb::ColumnFamilyHandle* meta() { return handles_[0]; }
    rocksdb::ColumnFamilyHandle* chunks() { return handles_[1]; }
    rocksdb::ColumnFamilyHandle* accounts() { return handles_[2]; }
    rocksdb::DB& db() { return *db_; }

    std::optional<std::string> get(rocksdb::ColumnFamilyHandle* cf, const std::string& key) {
        std::string value;
        auto s = db_->Get({}, cf, key, &value);
        if (s.IsNotFound()) return std::nullopt;
        REQUIRE(s.ok());
        return value;
    }
    void put(rocksdb::ColumnFamilyHandle* cf, const std::string& key, const std::string& value) {
        REQUIRE(db_->Put({}, cf, key, value).ok());
    }
    void remove(rocksdb::ColumnFamilyHandle* cf, const std::string& key) { REQUIRE(db_->Delete({}, cf, key).ok()); }

private:
    std::unique_ptr<rocksdb::DB> db_;
    std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace chunklog::test
