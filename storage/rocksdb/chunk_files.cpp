#include "storage/rocksdb/chunk_files.hpp"

#include "storage/rocksdb/keys.hpp"

#include <chunklog/sha256.hpp>

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <random>

namespace chunklog::storage {
namespace {

constexpr std::string_view ref_magic{"\0chunklog:file\0\x01", 16};
constexpr std::size_t ref_size = ref_magic.size() + 16;
constexpr std::string_view subdir = "chunk-files";

error file_error(const rocksdb::IOStatus& s, const std::string& what) {
    if (s.IsNoSpace())
        return make_error(errc::insufficient_storage, "no space left on the device for " + what +
                                                          ": nothing was stored; writes resume once space is freed");
    return make_error(errc::internal, what + ": " + s.ToString());
}

std::string hex16(std::uint64_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, n >>= 4) out[static_cast<std::size_t>(i)] = digits[n & 0xf];
    return out;
}

std::optional<chunk_file_name> parse_name(std::string_view name) {
    auto first = name.find('.');
    auto last = name.rfind('.');
    if (first == std::string_view::npos || first == last) return std::nullopt;
    auto user = uuid::parse(name.substr(0, first));
    auto id = digest::parse(name.substr(first + 1, last - first - 1));
    auto number_text = name.substr(last + 1);
    std::uint64_t number = 0;
    auto [end, ec] = std::from_chars(number_text.data(), number_text.data() + number_text.size(), number, 16);
    if (!user || !id || number_text.size() != 16 || ec != std::errc{} || end != number_text.data() + number_text.size())
        return std::nullopt;
    return chunk_file_name{*user, *id, number};
}

std::uint64_t random_start() {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

std::string encode_chunk_file_ref(const chunk_file_ref& ref) {
    std::string out(ref_magic);
    keys::put_be64(out, ref.number);
    keys::put_be64(out, ref.size);
    return out;
}

std::optional<chunk_file_ref> decode_chunk_file_ref(const digest& id, std::string_view value) {
    if (value.size() != ref_size || !value.starts_with(ref_magic) || sha256_of(value) == id) return std::nullopt;
    return chunk_file_ref{keys::get_be64(value.substr(16, 8)), keys::get_be64(value.substr(24, 8))};
}

chunk_files::chunk_files(const std::filesystem::path& data_dir, std::shared_ptr<rocksdb::FileSystem> fs)
    : dir_(data_dir / subdir), fs_(std::move(fs)), next_number_(random_start()) {}

outcome<void> chunk_files::create() {
    auto s = fs_->CreateDirIfMissing(dir_.string(), rocksdb::IOOptions{}, nullptr);
    if (!s.ok()) return file_error(s, "the chunk file directory " + dir_.string());
    std::unique_ptr<rocksdb::FSDirectory> parent;
    s = fs_->NewDirectory(dir_.parent_path().string(), rocksdb::IOOptions{}, &parent, nullptr);
    if (s.ok()) s = parent->Fsync(rocksdb::IOOptions{}, nullptr);
    if (!s.ok()) return file_error(s, "syncing " + dir_.parent_path().string());
    return {};
}

std::string chunk_files::path_of(const uuid& user, const digest& id, std::uint64_t number) const {
    return (dir_ / (user.to_string() + "." + id.to_string() + "." + hex16(number))).string();
}

outcome<chunk_file_ref> chunk_files::write(const uuid& user, const digest& id, std::string_view bytes) {
    rocksdb::IOOptions io;
    std::uint64_t number = 0;
    std::string path;
    do {  // numbers start at a random point: a name never comes back, not even after a restart
        number = next_number_.fetch_add(1);
        path = path_of(user, id, number);
    } while (fs_->FileExists(path, io, nullptr).ok());
    {
        std::lock_guard lock(in_flight_mutex_);
        in_flight_.insert(number);  // before the file exists: a listing never sees it unmarked
    }

    std::unique_ptr<rocksdb::FSWritableFile> file;
    auto s = fs_->NewWritableFile(path, rocksdb::FileOptions{}, &file, nullptr);
    if (s.ok()) s = file->Append(rocksdb::Slice(bytes.data(), bytes.size()), io, nullptr);
    if (s.ok()) s = file->Sync(io, nullptr);
    if (s.ok()) s = file->Close(io, nullptr);
    std::unique_ptr<rocksdb::FSDirectory> directory;
    if (s.ok()) s = fs_->NewDirectory(dir_.string(), io, &directory, nullptr);
    if (s.ok()) s = directory->Fsync(io, nullptr);
    if (!s.ok()) {
        file.reset();
        fs_->DeleteFile(path, io, nullptr);  // nothing refers to it; a failure here leaves it to the sweep
        settled(number);
        return file_error(s, "chunk file " + path);
    }
    return chunk_file_ref{number, bytes.size()};
}

void chunk_files::settled(std::uint64_t number) {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_.erase(number);
}

bool chunk_files::in_flight(std::uint64_t number) const {
    std::lock_guard lock(in_flight_mutex_);
    return in_flight_.contains(number);
}

void chunk_files::retire(const chunk_file_name& f, std::uint64_t after) {
    std::lock_guard lock(retired_mutex_);
    retired_.emplace_back(after, f);
}

outcome<void> chunk_files::remove_retired(std::uint64_t oldest_snapshot) {
    std::vector<chunk_file_name> due;
    {
        std::lock_guard lock(retired_mutex_);
        // A snapshot at or after `after` sees the reference gone; one at 0
        // was taken before anything was written.
        auto readable = [&](const auto& r) { return oldest_snapshot != 0 && oldest_snapshot < r.first; };
        auto due_begin = std::stable_partition(retired_.begin(), retired_.end(), readable);
        for (auto it = due_begin; it != retired_.end(); ++it) due.push_back(it->second);
        retired_.erase(due_begin, retired_.end());
    }
    outcome<void> first{};
    for (const auto& f : due)
        if (auto r = remove(f.user, f.id, f.number); !r && first) first = r;
    return first;
}

outcome<std::string> chunk_files::read(const uuid& user, const digest& id, const chunk_file_ref& ref) const {
    auto path = path_of(user, id, ref.number);
    std::unique_ptr<rocksdb::FSSequentialFile> file;
    auto s = fs_->NewSequentialFile(path, rocksdb::FileOptions{}, &file, nullptr);
    if (!s.ok()) return make_error(errc::internal, "chunk " + id.to_string() + ": its file is unreadable: " + s.ToString());
    std::string bytes(ref.size, '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
        rocksdb::Slice part;
        s = file->Read(bytes.size() - got, rocksdb::IOOptions{}, &part, bytes.data() + got, nullptr);
        if (!s.ok()) return make_error(errc::internal, "chunk " + id.to_string() + ": reading its file: " + s.ToString());
        if (part.empty()) break;
        if (part.data() != bytes.data() + got) std::copy(part.data(), part.data() + part.size(), bytes.data() + got);
        got += part.size();
    }
    if (got != bytes.size())
        return make_error(errc::internal, "chunk " + id.to_string() + ": its file " + path + " is shorter (" +
                                              std::to_string(got) + " bytes) than the chunk (" +
                                              std::to_string(bytes.size()) + ")");
    return bytes;
}

outcome<void> chunk_files::remove(const uuid& user, const digest& id, std::uint64_t number) {
    auto path = path_of(user, id, number);
    auto s = fs_->DeleteFile(path, rocksdb::IOOptions{}, nullptr);
    if (!s.ok() && !s.IsPathNotFound()) return make_error(errc::internal, "cannot remove " + path + ": " + s.ToString());
    return {};
}

outcome<std::vector<chunk_file_name>> chunk_files::list() const {
    std::vector<std::string> names;
    auto s = fs_->GetChildren(dir_.string(), rocksdb::IOOptions{}, &names, nullptr);
    if (s.IsPathNotFound()) return std::vector<chunk_file_name>{};
    if (!s.ok()) return make_error(errc::internal, "cannot list " + dir_.string() + ": " + s.ToString());
    std::vector<chunk_file_name> out;
    for (const auto& name : names)
        if (auto parsed = parse_name(name)) out.push_back(*parsed);
    return out;
}

outcome<std::size_t> chunk_files::sweep(const std::function<outcome<bool>(const chunk_file_name&)>& referenced) {
    auto files = list();
    if (!files) return files.error();
    std::size_t removed = 0;
    for (const auto& f : *files) {
        auto keep = referenced(f);
        if (!keep) return keep.error();
        if (*keep) continue;
        if (auto r = remove(f.user, f.id, f.number); !r) return r.error();
        ++removed;
    }
    return removed;
}

outcome<std::string> chunk_files::resolve(const uuid& user, const digest& id, std::string value) const {
    auto ref = decode_chunk_file_ref(id, value);
    if (!ref) return value;
    return read(user, id, *ref);
}

outcome<std::string_view> chunk_files::bytes_of(const uuid& user, const digest& id, std::string_view value,
                                                std::string& buffer) const {
    auto ref = decode_chunk_file_ref(id, value);
    if (!ref) return value;
    auto bytes = read(user, id, *ref);
    if (!bytes) return bytes.error();
    buffer = std::move(*bytes);
    return std::string_view(buffer);
}

task_threads::task_threads(std::size_t threads, const char* name) {
    for (std::size_t i = 0; i < threads; ++i)
        threads_.emplace_back([this, name] {
            pthread_setname_np(pthread_self(), name);
            run();
        });
}

task_threads::~task_threads() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

void task_threads::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
}

void task_threads::drain() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return tasks_.empty() && running_ == 0; });
}

void task_threads::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and everything queued has run
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        ++running_;
        lock.unlock();
        task();
        lock.lock();
        --running_;
        if (tasks_.empty() && running_ == 0) idle_.notify_all();
    }
}

}  // namespace chunklog::storage
