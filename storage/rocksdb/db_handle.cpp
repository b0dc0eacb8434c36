#include "storage/rocksdb/db_handle.hpp"

#include "storage/rocksdb/keys.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <system_error>

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

// A memtable insert searches the skip list from its top unless it has a
// hint; with a prefix transform the memtable keeps one hint per prefix
// (where its last key with that prefix went). Keys of one user and tag are
// written close together (a chain entry right after the last, HEAD and
// counters over their previous versions), so most inserts start near their
// place. The commit pipeline applies a whole group's batch on one thread,
// where these searches were its largest cost; bench/RESULTS.md has the
// profile. The prefix is the user and one byte more in both families
// because RocksDB keeps one map of hints for a memtable's point keys and its
// range deletions, which are two skip lists: a range deletion starts at the
// bare user id (keys::user_begin), shorter than the prefix, so it never
// takes a point key's hint.
void insert_with_hints(rocksdb::ColumnFamilyOptions& cf) {
    cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(keys::user_bytes + 1));
}

rocksdb::ColumnFamilyOptions meta_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
    rocksdb::ColumnFamilyOptions cf;
    cf.merge_operator = std::make_shared<stats_add_operator>();
    add_bloom_filters(cf, cache);
    insert_with_hints(cf);
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
    insert_with_hints(cf);
    return cf;
}

// Tokens and quotas: small values read by key on every authenticated request
// and write, mostly for keys that exist.
rocksdb::ColumnFamilyOptions accounts_family_options(const std::shared_ptr<rocksdb::Cache>& cache) {
    rocksdb::ColumnFamilyOptions cf;
    add_bloom_filters(cf, cache);
    return cf;
}

// Out of space as RocksDB reports it: ENOSPC from the file system is an
// IOError with subcode kNoSpace (also when it comes back later as the
// background error that stops writes); kSpaceLimit is an SstFileManager's
// configured limit, the same situation.
bool is_no_space(const rocksdb::Status& s) {
    return s.IsIOError() && (s.subcode() == rocksdb::Status::kNoSpace || s.subcode() == rocksdb::Status::kSpaceLimit);
}

error no_space_error() {
    return make_error(errc::insufficient_storage,
                      "no space left on the device: nothing was stored; writes resume once space is freed");
}

error failed_error() {
    return make_error(errc::unavailable, "the store refuses writes after an earlier write failure");
}

}  // namespace

// RocksDB's out-of-space background errors, handed to the handle: the store
// refuses writes from the first one on (also when a background flush hit it
// before any write did), and RocksDB's own recovery is turned off for them,
// so that the handle's resumer brings the store back. Left on, that recovery
// goes through the SstFileManager, which retries only every 5 seconds and
// makes DB::Resume() answer Busy meanwhile.
class db_handle::no_space_listener final : public rocksdb::EventListener {
public:
    explicit no_space_listener(db_handle& h) : handle_(h) {}
    const char* Name() const override { return "chunklog.no_space_listener"; }

    void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* bg_error) override {
        if (is_no_space(*bg_error)) handle_.enter_no_space(bg_error->ToString());
    }
    void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error, bool* auto_recovery) override {
        if (is_no_space(bg_error)) *auto_recovery = false;
    }

private:
    db_handle& handle_;
};

std::vector<rocksdb::ColumnFamilyDescriptor> store_families(const rocksdb::DBOptions& db_options,
                                                            const std::filesystem::path& dir,
                                                            const std::shared_ptr<rocksdb::Cache>& cache) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families{
        {rocksdb::kDefaultColumnFamilyName, meta_family_options(cache)},
        {"chunks", chunk_family_options(cache)},
        {"accounts", accounts_family_options(cache)},
    };
    // RocksDB opens a directory only with every family it holds: a newer
    // store format's extra ones are opened too, so that its format version
    // can be read and the directory refused with a clear message.
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &existing).ok())
        for (const auto& name : existing)
            if (std::none_of(families.begin(), families.end(), [&](const auto& f) { return f.name == name; }))
                families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
    return families;
}

outcome<std::unique_ptr<db_handle>> db_handle::open(const store_options& options) {
    std::error_code fs_error;
    std::filesystem::create_directories(options.dir, fs_error);
    if (fs_error)
        return make_error(errc::internal, "cannot create data directory " + options.dir.string() + ": " +
                                              fs_error.message());

    std::unique_ptr<db_handle> h(new db_handle);
    h->write_options_.sync = options.sync_writes;
    h->log_error_ = options.log_error;
    h->resume_interval_ = std::max<std::chrono::milliseconds>(options.resume_interval, std::chrono::milliseconds(1));
    h->dir_ = options.dir;

    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.IncreaseParallelism(2);
    db_options.max_background_jobs = 2;
    db_options.listeners.push_back(std::make_shared<no_space_listener>(*h));
    if (options.env != nullptr) db_options.env = options.env;

    auto families = store_families(db_options, options.dir, rocksdb::NewLRUCache(options.block_cache_bytes));
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(db_options, options.dir.string(), families, &handles, &raw);
    if (!s.ok()) return make_error(errc::internal, "cannot open RocksDB in " + options.dir.string() + ": " + s.ToString());
    h->db_.reset(raw);
    h->meta_ = handles[0];
    h->chunks_ = handles[1];
    h->accounts_ = handles[2];
    h->unknown_families_.assign(handles.begin() + 3, handles.end());
    try {
        h->resumer_ = std::thread([p = h.get()] { p->run_resumer(); });
    } catch (const std::system_error& e) {
        return make_error(errc::internal, std::string("cannot start the store's resume thread: ") + e.what());
    }
    return h;
}

db_handle::~db_handle() {
    {
        std::lock_guard lock(resume_mutex_);
        stopping_ = true;
    }
    resume_wake_.notify_all();
    if (resumer_.joinable()) resumer_.join();
    if (!db_) return;
    // After a write failure the WAL writer is broken: flushing it again would
    // only fail (or trip RocksDB's own assertions); what was acknowledged is synced.
    if (writable()) db_->FlushWAL(true);
    for (auto* cf : unknown_families_) db_->DestroyColumnFamilyHandle(cf);
    for (auto* cf : {accounts_, chunks_, meta_})
        if (cf != nullptr) db_->DestroyColumnFamilyHandle(cf);
    db_->Close();
}

outcome<void> db_handle::check_writable() const {
    switch (writes()) {
    case write_state::ok: return {};
    case write_state::no_space: return no_space_error();
    case write_state::failed: break;
    }
    return failed_error();
}

outcome<void> db_handle::commit(rocksdb::WriteBatch& batch) { return write(write_options_, batch); }

outcome<void> db_handle::commit_unsynced(rocksdb::WriteBatch& batch) {
    auto options = write_options_;
    options.sync = false;
    return write(options, batch);
}

outcome<void> db_handle::sync_wal() {
    if (!write_options_.sync) return {};
    if (auto w = check_writable(); !w) return w;
    auto s = [&] {
        ignore_accesses_inside_rocksdb ignore;
        return db_->SyncWAL();
    }();
    if (s.ok()) return {};
    if (is_no_space(s)) {
        enter_no_space(s.ToString());
        return no_space_error();
    }
    enter_failed();
    report("syncing the write-ahead log failed, the store is now read-only: " + s.ToString());
    return make_error(errc::unavailable, "the store could not complete the write");
}

outcome<void> db_handle::write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch& batch) {
    if (auto w = check_writable(); !w) return w;
    auto s = [&] {
        ignore_accesses_inside_rocksdb ignore;
        return db_->Write(options, &batch);
    }();
    if (s.ok()) return {};
    // A failed write group stores none of its batches, and RocksDB refuses
    // later writes with its background error until it is resumed.
    if (is_no_space(s)) {
        enter_no_space(s.ToString());
        return no_space_error();
    }
    enter_failed();
    report("write failed, the store is now read-only: " + s.ToString());
    return make_error(errc::unavailable, "the store could not complete the write");
}

void db_handle::report(const std::string& message) const {
    if (log_error_) log_error_(message);
    else std::cerr << "chunklog: error: " << message << '\n';
}

void db_handle::enter_no_space(const std::string& cause) {
    auto expected = write_state::ok;
    if (!state_.compare_exchange_strong(expected, write_state::no_space, std::memory_order_acq_rel)) return;
    report("out of disk space, writes are refused until space is freed: " + cause);
    { std::lock_guard lock(resume_mutex_); }  // the resumer is waiting, or will see the new state
    resume_wake_.notify_all();
}

void db_handle::enter_no_space_for_file(const std::string& cause, std::uint64_t bytes) {
    constexpr std::uint64_t margin = 1 << 20;  // and some room for the log and the tables
    file_room_needed_.store(bytes + margin, std::memory_order_release);
    enter_no_space(cause);
}

bool db_handle::has_room_for_files() const {
    auto needed = file_room_needed_.load(std::memory_order_acquire);
    if (needed == 0) return true;
    std::error_code ec;
    auto space = std::filesystem::space(dir_, ec);
    return !ec && space.available >= needed;
}

void db_handle::enter_failed() { state_.store(write_state::failed, std::memory_order_release); }

void db_handle::run_resumer() {
    std::unique_lock lock(resume_mutex_);
    for (;;) {
        resume_wake_.wait(lock, [&] { return stopping_ || writes() == write_state::no_space; });
        if (resume_wake_.wait_for(lock, resume_interval_, [&] { return stopping_; })) return;
        lock.unlock();
        auto s = db_->Resume();
        std::string message;
        if (s.ok() && has_room_for_files()) {
            auto expected = write_state::no_space;
            file_room_needed_.store(0, std::memory_order_release);
            if (state_.compare_exchange_strong(expected, write_state::ok, std::memory_order_acq_rel))
                message = "disk space is available again: writes resumed";
        } else if (!s.IsBusy() && s.severity() >= rocksdb::Status::kFatalError) {
            // Busy: RocksDB's own recovery is running; ask again later. A
            // fatal background error is one RocksDB resumes from only on reopening.
            enter_failed();
            message = "cannot resume writes without reopening the store: " + s.ToString();
        }
        if (!message.empty()) report(message);
        lock.lock();
    }
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
