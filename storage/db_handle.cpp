#include "storage/db_handle.hpp"

#include "storage/keys.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>

#include <iostream>

// ThreadSanitizer's per-thread ignore switch; null (weak, undefined) in any
// build without -fsanitize=thread.
extern "C" void __tsan_ignore_thread_begin() __attribute__((weak));
extern "C" void __tsan_ignore_thread_end() __attribute__((weak));

namespace chunklog::storage {
namespace {

// Debian's librocksdb is not built with ThreadSanitizer, which therefore sees
// RocksDB's write group without its synchronization: the leader thread copies
// the other writers' WriteBatches with libstdc++'s string append (no RocksDB
// frame in the report, so tests/tsan.supp cannot name it) and looks racy.
// While a thread is inside DB::Write, its memory accesses are RocksDB's and
// the sanitizer ignores them; everything before and after stays checked.
class ignore_accesses_inside_rocksdb {
public:
    ignore_accesses_inside_rocksdb() {
        if (__tsan_ignore_thread_begin) __tsan_ignore_thread_begin();
    }
    ~ignore_accesses_inside_rocksdb() {
        if (__tsan_ignore_thread_end) __tsan_ignore_thread_end();
    }
    ignore_accesses_inside_rocksdb(const ignore_accesses_inside_rocksdb&) = delete;
    ignore_accesses_inside_rocksdb& operator=(const ignore_accesses_inside_rocksdb&) = delete;
};

// Adds (count, bytes) pairs so concurrent chunk inserts never race on the
// per-user statistics record.
class stats_add_operator final : public rocksdb::AssociativeMergeOperator {
public:
    bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger*) const override {
        auto sum = existing ? keys::decode_stats(existing->ToStringView()) : keys::chunk_stats{};
        auto add = keys::decode_stats(value.ToStringView());
        *new_value = keys::encode_stats({sum.count + add.count, sum.bytes + add.bytes});
        return true;
    }
    const char* Name() const override { return "chunklog.stats_add"; }
};

// Bloom filters in tables and memtables: most point reads on the write path
// ask for keys that do not exist yet (a new chunk, a new transaction id), and
// a filter answers those without searching the skip list or any file.
void add_bloom_filters(rocksdb::ColumnFamilyOptions& cf, const std::shared_ptr<rocksdb::Cache>& cache) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.05;
}

rocksdb::ColumnFamilyOptions meta_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
    rocksdb::ColumnFamilyOptions cf;
    cf.merge_operator = std::make_shared<stats_add_operator>();
    add_bloom_filters(cf, cache);
    return cf;
}

// Chunk bytes go to blob files once flushed, so compaction does not rewrite
// large values again and again. Until then they sit in the memtables: 16 MiB
// ones keep that memory small under large uploads, with the same throughput.
rocksdb::ColumnFamilyOptions chunk_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
    rocksdb::ColumnFamilyOptions cf;
    cf.enable_blob_files = true;
    cf.min_blob_size = 4096;
    cf.enable_blob_garbage_collection = true;
    cf.blob_cache = cache;  // hot chunks are read from memory, not the blob files
    cf.write_buffer_size = 16 << 20;
    add_bloom_filters(cf, cache);
    return cf;
}

}  // namespace

outcome<std::unique_ptr<db_handle>> db_handle::open(const store_options& options) {
    std::error_code fs_error;
    std::filesystem::create_directories(options.dir, fs_error);
    if (fs_error)
        return make_error(errc::internal, "cannot create data directory " + options.dir.string() + ": " +
                                              fs_error.message());

    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.IncreaseParallelism(2);
    db_options.max_background_jobs = 2;
    if (options.env != nullptr) db_options.env = options.env;

    auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    std::vector<rocksdb::ColumnFamilyDescriptor> families{
        {rocksdb::kDefaultColumnFamilyName, meta_family_options(cache)},
        {"chunks", chunk_family_options(cache)},
    };
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(db_options, options.dir.string(), families, &handles, &raw);
    if (!s.ok()) return make_error(errc::internal, "cannot open RocksDB in " + options.dir.string() + ": " + s.ToString());

    std::unique_ptr<db_handle> h(new db_handle);
    h->db_.reset(raw);
    h->meta_ = handles[0];
    h->chunks_ = handles[1];
    h->write_options_.sync = options.sync_writes;
    h->log_error_ = options.log_error;
    return h;
}

db_handle::~db_handle() {
    if (!db_) return;
    // After a write failure the WAL writer is broken: flushing it again would
    // only fail (or trip RocksDB's own assertions); what was acknowledged is synced.
    if (writable()) db_->FlushWAL(true);
    db_->DestroyColumnFamilyHandle(chunks_);
    db_->DestroyColumnFamilyHandle(meta_);
    db_->Close();
}

outcome<void> db_handle::commit(rocksdb::WriteBatch& batch) {
    if (!writable()) return make_error(errc::unavailable, "the store refuses writes after an earlier write failure");
    auto s = [&] {
        ignore_accesses_inside_rocksdb ignore;
        return db_->Write(write_options_, &batch);
    }();
    if (s.ok()) return {};
    failed_.store(true, std::memory_order_release);
    auto message = "write failed, the store is now read-only: " + s.ToString();
    if (log_error_) log_error_(message);
    else std::cerr << "chunklog: error: " << message << '\n';
    return make_error(errc::unavailable, "the store could not complete the write");
}

outcome<std::optional<std::string>> db_handle::get(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                                   const rocksdb::Snapshot* snapshot) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::string value;
    auto s = db_->Get(ro, cf, key, &value);
    if (s.IsNotFound()) return std::optional<std::string>{};
    if (!s.ok()) return read_error(s);
    return std::optional<std::string>{std::move(value)};
}

outcome<cached_read<std::string>> db_handle::get_cached(rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                                                        const rocksdb::Snapshot* snapshot) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.read_tier = rocksdb::kBlockCacheTier;
    std::string value;
    auto s = db_->Get(ro, cf, key, &value);
    if (s.IsNotFound()) return cached_read<std::string>{};
    if (s.IsIncomplete()) return cached_read<std::string>{true, std::nullopt};
    if (!s.ok()) return read_error(s);
    return cached_read<std::string>{false, std::move(value)};
}

error db_handle::read_error(const rocksdb::Status& s) {
    return make_error(errc::internal, "storage read failed: " + s.ToString());
}

}  // namespace chunklog::storage
