#include "storage/rocksdb/store_reader.hpp"

#include "storage/rocksdb/db_handle.hpp"
#include "storage/rocksdb/keys.hpp"

#include <rocksdb/cache.h>

#include <cstdlib>
#include <string>

namespace chunklog::storage {
namespace {

// The server may compact between the reader's listing of the table files
// and its opening of them; a fresh attempt sees the new list.
constexpr int open_attempts = 5;

outcome<std::filesystem::path> make_secondary_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "chunklog-reader-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        return make_error(errc::internal, "cannot create a temporary directory in " +
                                              std::filesystem::temp_directory_path().string());
    return std::filesystem::path(pattern);
}

}  // namespace

outcome<std::unique_ptr<store_reader>> store_reader::open(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir / "CURRENT", ec))
        return make_error(errc::not_found, "no chunklog store in " + dir.string());
    std::unique_ptr<store_reader> r(new store_reader);
    auto secondary = make_secondary_dir();
    if (!secondary) return secondary.error();
    r->secondary_dir_ = *secondary;
    r->files_ = std::make_unique<chunk_files>(dir, rocksdb::FileSystem::Default());

    rocksdb::DBOptions options;
    options.max_open_files = -1;  // a secondary must keep its files open
    auto families = store_families(options, dir, rocksdb::NewLRUCache(8 << 20));
    rocksdb::Status s;
    for (int attempt = 0; attempt < open_attempts; ++attempt) {
        rocksdb::DB* raw = nullptr;
        r->handles_.clear();
        s = rocksdb::DB::OpenAsSecondary(options, dir.string(), r->secondary_dir_.string(), families, &r->handles_, &raw);
        if (!s.ok()) continue;
        r->db_.reset(raw);
        s = r->db_->TryCatchUpWithPrimary();
        if (s.ok()) return r;
        for (auto* h : r->handles_) r->db_->DestroyColumnFamilyHandle(h);
        r->handles_.clear();
        r->db_.reset();
    }
    return make_error(errc::internal, "cannot read the store in " + dir.string() + ": " + s.ToString());
}

store_reader::~store_reader() {
    if (db_)
        for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_.reset();
    std::error_code ignored;
    if (!secondary_dir_.empty()) std::filesystem::remove_all(secondary_dir_, ignored);
}

outcome<std::optional<std::uint64_t>> store_reader::format() {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions{}, accounts(), keys::format_version(), &value);
    if (s.IsNotFound()) return std::optional<std::uint64_t>{};
    if (!s.ok()) return db_handle::read_error(s);
    auto v = keys::decode_u64(value);
    if (!v) return make_error(errc::internal, "the store format record is unreadable");
    return std::optional<std::uint64_t>{*v};
}

std::unique_ptr<rocksdb::Iterator> store_reader::scan(rocksdb::ColumnFamilyHandle* cf) {
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(options, cf));
}

}  // namespace chunklog::storage
