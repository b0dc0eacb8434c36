// fault_fs: a RocksDB FileSystem wrapper for storage failure tests, in the
// manner of leveldb's fault_injection_test and RocksDB's
// FaultInjectionTestFS. It can fail every write from a given moment on
// (a disk that broke, or one that is full until space is freed), and it
// remembers how much of each file written through it was synced, so that
// copy_after_power_loss() can produce the directory a power cut would
// leave: every file cut back to its last synced length (a file never synced
// comes back empty). It models lost file data, not lost directory entries.
// Use it through rocksdb::NewCompositeEnv(shared_ptr) as
// storage::store_options::env.
// Thread-safe.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace chunklog::test {

class fault_fs final : public rocksdb::FileSystemWrapper {
public:
    fault_fs();
    const char* Name() const override { return "chunklog_fault_fs"; }

    // From now on every write and sync fails (an I/O error) until cleared.
    std::atomic<bool> fail{false};
    // While set, writing file data and syncing fail as on a full disk
    // through RocksDB's POSIX file system (IOStatus::NoSpace, retryable);
    // creating, renaming and deleting files still work, as they do there.
    std::atomic<bool> no_space{false};
    // The same for table and blob files only (what flushes and compactions
    // write): the background jobs run out of space first.
    std::atomic<bool> no_space_for_tables{false};
    // While set, deleting a file whose path contains this text fails (an
    // I/O error); empty: none does.
    void fail_deletes_of(std::string part);

    // The failure that writing data to the file `name` gets now (ok: none).
    rocksdb::IOStatus injected_failure(const std::string& name) const;

    // Copies `dir` (with its subdirectories) into `to` as a power cut now
    // would leave it.
    void copy_after_power_loss(const std::filesystem::path& dir, const std::filesystem::path& to);

    rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* out,
                                      rocksdb::IODebugContext* d) override;
    rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                         std::unique_ptr<rocksdb::FSWritableFile>* out,
                                         rocksdb::IODebugContext* d) override;
    rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& o,
                                 rocksdb::IODebugContext* d) override;
    rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& o,
                                 rocksdb::IODebugContext* d) override;

    // Called by the files: the length of `name` that is synced now.
    void synced(const std::string& name, std::uint64_t length);

private:
    void copy_tree_after_power_loss(const std::filesystem::path& dir, const std::filesystem::path& to);

    std::mutex mutex_;
    std::map<std::string, std::uint64_t> synced_length_;  // canonical path -> bytes
    std::string failing_deletes_;
};

}  // namespace chunklog::test
