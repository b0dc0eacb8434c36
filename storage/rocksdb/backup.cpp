// backup_store and restore_store: a logical copy, key by key, of the three
// families as one store_reader sees them (so of one state of the store),
// into a new RocksDB directory with the store's own family options. The
// copy skips the write-ahead log and is flushed and synced file by file at
// the end; it is built in "<to>.partial" and renamed into place, so a copy
// cut short never looks like a backup.
#include "storage/rocksdb/db_handle.hpp"
#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/store_reader.hpp"

#include <chunklog/storage/maintenance.hpp>

#include <rocksdb/cache.h>

#include <fcntl.h>
#include <unistd.h>

namespace chunklog::storage {
namespace {

constexpr std::size_t batch_bytes = 4 << 20;

outcome<void> fsync_path(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(errc::internal, "cannot open " + p.string() + " to sync it");
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return make_error(errc::internal, "cannot sync " + p.string());
    return {};
}

outcome<void> sync_tree(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        auto synced = entry.is_regular_file() ? fsync_path(entry.path())
                      : entry.is_directory()  ? sync_tree(entry.path())  // the chunk files
                                              : outcome<void>{};
        if (!synced) return synced;
    }
    if (ec) return make_error(errc::internal, "cannot list " + dir.string() + ": " + ec.message());
    return fsync_path(dir);
}

bool empty_or_absent(const std::filesystem::path& p) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return true;
    return std::filesystem::is_directory(p, ec) && std::filesystem::is_empty(p, ec);
}

class store_copy {
public:
    store_copy(store_reader& from, copy_report& report) : from_(from), report_(report) {}

    outcome<void> into(const std::filesystem::path& dir) {
        rocksdb::DBOptions options;
        options.create_if_missing = true;
        options.create_missing_column_families = true;
        options.error_if_exists = true;
        auto families = store_families(options, dir, rocksdb::NewLRUCache(8 << 20));
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        auto s = rocksdb::DB::Open(options, dir.string(), families, &handles, &raw);
        if (!s.ok()) return make_error(errc::internal, "cannot create a store in " + dir.string() + ": " + s.ToString());
        std::unique_ptr<rocksdb::DB> to(raw);
        chunk_files files(dir, rocksdb::FileSystem::Default());
        auto copied = files.create();
        if (copied) copied = copy_family(*to, from_.meta(), handles[0]);
        if (copied) copied = copy_family(*to, from_.chunks(), handles[1], &files);
        if (copied) copied = copy_family(*to, from_.accounts(), handles[2]);
        if (copied) {
            s = to->Flush(rocksdb::FlushOptions{}, handles);
            if (!s.ok()) copied = make_error(errc::internal, "cannot flush the copy: " + s.ToString());
        }
        for (auto* h : handles) to->DestroyColumnFamilyHandle(h);
        if (copied) {
            s = to->Close();
            if (!s.ok()) copied = make_error(errc::internal, "cannot close the copy: " + s.ToString());
        }
        return copied;
    }

private:
    // `files`: where the chunk files the family refers to are copied (the
    // chunks family only).
    outcome<void> copy_family(rocksdb::DB& to, rocksdb::ColumnFamilyHandle* from_cf, rocksdb::ColumnFamilyHandle* to_cf,
                              const chunk_files* files = nullptr) {
        rocksdb::WriteOptions unlogged;
        unlogged.disableWAL = true;  // the copy is flushed and synced as a whole before it counts
        rocksdb::WriteBatch batch;
        auto write = [&]() -> outcome<void> {
            auto s = to.Write(unlogged, &batch);
            batch.Clear();
            if (!s.ok()) return make_error(errc::internal, "cannot write the copy: " + s.ToString());
            return {};
        };
        auto it = from_.scan(from_cf);
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            if (files != nullptr)
                if (auto copied = copy_chunk_file(it->key().ToStringView(), it->value().ToStringView(), *files); !copied)
                    return copied;
            batch.Put(to_cf, it->key(), it->value());
            ++report_.keys;
            report_.bytes += it->key().size() + it->value().size();
            if (batch.GetDataSize() >= batch_bytes)
                if (auto w = write(); !w) return w;
        }
        if (!it->status().ok()) return make_error(errc::internal, "cannot read the store: " + it->status().ToString());
        return write();
    }

    // Copies the file a chunks-family entry refers to, if it refers to one,
    // under the same name (the reference stays valid).
    outcome<void> copy_chunk_file(std::string_view key, std::string_view value, const chunk_files& to) {
        auto user = key.size() == uuid::size + digest::size ? uuid::from_bytes(key.substr(0, uuid::size)) : std::nullopt;
        auto id = user ? digest::from_bytes(key.substr(uuid::size)) : std::nullopt;
        auto ref = id ? decode_chunk_file_ref(*id, value) : std::nullopt;
        if (!ref) return {};
        auto from = from_.files().path_of(*user, *id, ref->number);
        std::error_code ec;
        std::filesystem::copy_file(from, to.path_of(*user, *id, ref->number), ec);
        if (ec) return make_error(errc::internal, "cannot copy the chunk file " + from + ": " + ec.message());
        report_.bytes += ref->size;
        return {};
    }

    store_reader& from_;
    copy_report& report_;
};

outcome<void> carry_files(const std::filesystem::path& from, const std::filesystem::path& to,
                          const std::vector<std::string>& names) {
    for (const auto& name : names) {
        std::error_code ec;
        if (!std::filesystem::exists(from / name, ec)) continue;
        std::filesystem::copy_file(from / name, to / name, ec);
        if (!ec)
            std::filesystem::permissions(to / name, std::filesystem::status(from / name).permissions(),
                                         std::filesystem::perm_options::replace, ec);
        if (ec) return make_error(errc::internal, "cannot copy " + (from / name).string() + ": " + ec.message());
    }
    return {};
}

outcome<copy_report> copy_store(store_reader& from, const std::filesystem::path& from_dir,
                                const std::filesystem::path& to, const std::vector<std::string>& carry) {
    copy_report report;
    auto format = from.format();
    if (!format) return format.error();
    report.format = format->value_or(1);
    if (report.format > keys::current_format || from.unknown_families() > 0)
        return make_error(errc::conflict, "the store is of format " + std::to_string(report.format) +
                                              ", newer than this chunklogd's (" + std::to_string(keys::current_format) +
                                              "): use a newer chunklogd");
    if (!empty_or_absent(to)) return make_error(errc::conflict, to.string() + " exists and is not empty");
    auto partial = std::filesystem::path(to.string() + ".partial");
    std::error_code ec;
    std::filesystem::remove_all(partial, ec);  // an earlier copy cut short
    if (auto copied = store_copy(from, report).into(partial); !copied) {
        std::filesystem::remove_all(partial, ec);
        return copied.error();
    }
    if (auto carried = carry_files(from_dir, partial, carry); !carried) return carried.error();
    if (auto synced = sync_tree(partial); !synced) return synced.error();
    std::filesystem::rename(partial, to, ec);
    if (ec) return make_error(errc::internal, "cannot rename " + partial.string() + " to " + to.string() + ": " + ec.message());
    if (auto synced = fsync_path(std::filesystem::absolute(to).parent_path()); !synced) return synced.error();
    return report;
}

}  // namespace

outcome<copy_report> backup_store(const std::filesystem::path& dir, const std::filesystem::path& to,
                                  const std::vector<std::string>& carry) {
    auto reader = store_reader::open(dir);
    if (!reader) return reader.error();
    return copy_store(**reader, dir, to, carry);
}

outcome<copy_report> restore_store(const std::filesystem::path& from, const std::filesystem::path& to,
                                   const std::vector<std::string>& carry) {
    auto verified = verify_store(from);
    if (!verified) return verified.error();
    if (!verified->clean())
        return make_error(errc::conflict, "the backup in " + from.string() + " has " +
                                              std::to_string(verified->problem_count) +
                                              " problem(s), the first: " + verified->problems.front());
    auto reader = store_reader::open(from);
    if (!reader) return reader.error();
    return copy_store(**reader, from, to, carry);
}

}  // namespace chunklog::storage
