#include "support/fault_fs.hpp"

#include <fstream>

namespace chunklog::test {
namespace {

rocksdb::IOStatus broken() { return rocksdb::IOStatus::IOError("injected write failure"); }

std::string canonical(const std::string& name) {
    return std::filesystem::weakly_canonical(std::filesystem::path(name)).string();
}

// A file written through fault_fs: fails when asked, reports its syncs.
class fault_file final : public rocksdb::FSWritableFileOwnerWrapper {
public:
    fault_file(std::unique_ptr<rocksdb::FSWritableFile> target, fault_fs& fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return s.ok() ? target()->Append(data, o, d) : s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return s.ok() ? target()->Append(data, o, v, d) : s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return s.ok() ? target()->PositionedAppend(data, offset, o, d) : s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                       const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return s.ok() ? target()->PositionedAppend(data, offset, o, v, d) : s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return record(s.ok() ? target()->Sync(o, d) : s, o, d);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
        auto s = fs_.injected_failure(name_);
        return record(s.ok() ? target()->Fsync(o, d) : s, o, d);
    }

private:
    rocksdb::IOStatus record(rocksdb::IOStatus s, const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) {
        if (s.ok()) fs_.synced(name_, target()->GetFileSize(o, d));
        return s;
    }
    fault_fs& fs_;
    std::string name_;
};

}  // namespace

fault_fs::fault_fs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

rocksdb::IOStatus fault_fs::injected_failure(const std::string& name) const {
    if (fail) return broken();
    auto table = name.ends_with(".sst") || name.ends_with(".blob");
    if (no_space || (no_space_for_tables && table)) {
        // What PosixWritableFile reports for ENOSPC (env/io_posix.h).
        auto s = rocksdb::IOStatus::NoSpace("injected: no space left on device");
        s.SetRetryable(true);
        return s;
    }
    return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus fault_fs::NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                            std::unique_ptr<rocksdb::FSWritableFile>* out,
                                            rocksdb::IODebugContext* d) {
    if (fail) return broken();
    auto s = target()->NewWritableFile(name, o, out, d);
    if (!s.ok()) return s;
    synced(name, 0);  // new and empty: nothing of it survives until synced
    *out = std::make_unique<fault_file>(std::move(*out), *this, name);
    return s;
}

rocksdb::IOStatus fault_fs::ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                               std::unique_ptr<rocksdb::FSWritableFile>* out,
                                               rocksdb::IODebugContext* d) {
    if (fail) return broken();
    auto s = target()->ReopenWritableFile(name, o, out, d);
    if (s.ok()) *out = std::make_unique<fault_file>(std::move(*out), *this, name);
    return s;
}

rocksdb::IOStatus fault_fs::RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) {
    if (fail) return broken();
    std::lock_guard lock(mutex_);
    auto s = target()->RenameFile(from, to, o, d);
    if (!s.ok()) return s;
    auto it = synced_length_.find(canonical(from));
    synced_length_.erase(canonical(to));
    if (it != synced_length_.end()) {
        synced_length_[canonical(to)] = it->second;
        synced_length_.erase(it);
    }
    return s;
}

rocksdb::IOStatus fault_fs::DeleteFile(const std::string& name, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) {
    std::lock_guard lock(mutex_);
    if (!failing_deletes_.empty() && name.find(failing_deletes_) != std::string::npos)
        return rocksdb::IOStatus::IOError("injected: cannot delete " + name);
    auto s = target()->DeleteFile(name, o, d);
    if (s.ok()) synced_length_.erase(canonical(name));
    return s;
}

void fault_fs::fail_deletes_of(std::string part) {
    std::lock_guard lock(mutex_);
    failing_deletes_ = std::move(part);
}

void fault_fs::synced(const std::string& name, std::uint64_t length) {
    std::lock_guard lock(mutex_);
    synced_length_[canonical(name)] = length;
}

void fault_fs::copy_after_power_loss(const std::filesystem::path& dir, const std::filesystem::path& to) {
    std::lock_guard lock(mutex_);  // no sync or rename moves the picture while it is taken
    copy_tree_after_power_loss(dir, to);
}

void fault_fs::copy_tree_after_power_loss(const std::filesystem::path& dir, const std::filesystem::path& to) {
    std::filesystem::create_directories(to);
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto target = to / entry.path().filename();
        if (entry.is_directory()) {
            copy_tree_after_power_loss(entry.path(), target);
            continue;
        }
        if (!entry.is_regular_file()) continue;
        auto it = synced_length_.find(canonical(entry.path().string()));
        if (it == synced_length_.end()) {  // not written through this file system: kept whole
            std::filesystem::copy_file(entry.path(), target);
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        std::string kept(it->second, '\0');
        in.read(kept.data(), static_cast<std::streamsize>(kept.size()));
        kept.resize(static_cast<std::size_t>(in.gcount()));
        std::ofstream(target, std::ios::binary).write(kept.data(), static_cast<std::streamsize>(kept.size()));
    }
}

}  // namespace chunklog::test
