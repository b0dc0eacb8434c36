// chunk_files: large chunks written once. A chunk PUT at or above the
// store's threshold writes its bytes to a file of their own in
// "<data dir>/chunk-files", synced together with the directory entry, and
// only a 32-byte reference to that file goes into the chunks family through
// the synced write-ahead log: the bytes are written once, not once to the
// log and again when the memtable is flushed to a blob file.
//
// A file is named "<user>.<chunk id>.<number>": the number, new for every
// file written, keeps two writes of one chunk (two clients sending it at
// once, or a re-send while garbage collection removes it) from sharing a
// file. A reference is committed only after its file is synced, so no
// reference ever names missing or partial bytes; a file whose reference was
// never committed (a crash between the two, a write that lost a race or
// failed a rule) names no chunk and is removed: at once by the write that
// made it, or when the store opens (sweep()). A file goes after the
// reference to it is deleted and that deletion is synced. From the moment
// its name is chosen until its writer calls settled(), a file is in flight:
// deleting its user leaves it alone (its reference is yet to come, in the
// user's new life, or its writer removes it). A file whose reference
// garbage collection or a user's deletion removed is retired, not removed,
// while a RocksDB snapshot from before that removal is open (a log cursor
// streaming a page): such a reader still sees the reference and gets the
// bytes. (A backup reads through a secondary instance in a process of its
// own, which no snapshot here covers: a removal during its copy makes it
// fail, never copy a partial store.) Retired files go when the next removal or garbage
// collection pass finds no such snapshot open (or at the next open).
//
// Everything goes through the RocksDB FileSystem the store was opened with,
// so fault injection in tests covers these files too. Thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <rocksdb/file_system.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

namespace chunklog::storage {

// What the chunks family holds for a chunk kept in a file.
struct chunk_file_ref {
    std::uint64_t number = 0;  // the file's own number (its name's last part)
    std::uint64_t size = 0;    // the chunk's length in bytes
};

// The chunks-family value for `ref`: 16 fixed bytes, then the number and
// the size, big-endian (32 bytes).
std::string encode_chunk_file_ref(const chunk_file_ref& ref);
// The reference `value` holds for chunk `id`, or nullopt when `value` is
// the chunk's bytes. A 32-byte chunk that happens to begin with the fixed
// bytes is told apart by its content address: its bytes hash to `id`, a
// reference's never do.
std::optional<chunk_file_ref> decode_chunk_file_ref(const digest& id, std::string_view value);

// A file of the directory, named as chunk_files names them.
struct chunk_file_name {
    uuid user;
    digest id;
    std::uint64_t number = 0;
};

class chunk_files {
public:
    // No chunk below this many bytes goes to a file: the store's threshold
    // is raised to it (a smaller value is cheaper in the log).
    static constexpr std::uint64_t min_bytes = 4096;

    // `data_dir`: the store's directory; `fs`: the file system it uses.
    chunk_files(const std::filesystem::path& data_dir, std::shared_ptr<rocksdb::FileSystem> fs);

    // Creates the directory when absent (a read-only reader need not).
    outcome<void> create();

    // Writes `bytes` of the user's chunk `id` to a new file, syncs it and
    // its directory entry; the reference to commit. The file is in flight
    // until settled() (when the write fails, no longer).
    outcome<chunk_file_ref> write(const uuid& user, const digest& id, std::string_view bytes);
    // The writer of file `number` is done with it: its reference is
    // committed, or it is removed, or it is left to the sweep.
    void settled(std::uint64_t number);
    bool in_flight(std::uint64_t number) const;
    // The chunk's bytes from its file; errc::internal when it is missing or
    // shorter than the reference says.
    outcome<std::string> read(const uuid& user, const digest& id, const chunk_file_ref& ref) const;
    // Removes a file (nothing may refer to it any more); a failure is
    // returned for the log, the store stays consistent (the file is only
    // space, swept at the next open).
    outcome<void> remove(const uuid& user, const digest& id, std::uint64_t number);

    // Retires a file whose reference a committed, synced write removed;
    // `after`: the store's last sequence number once that write committed.
    void retire(const chunk_file_name& f, std::uint64_t after);
    // Removes the retired files no open snapshot can read: those retired
    // at or before `oldest_snapshot`, the sequence number of the oldest
    // snapshot still open (0: none is). The first failure is returned for
    // the log; a file that could not be removed is left to the sweep.
    outcome<void> remove_retired(std::uint64_t oldest_snapshot);

    // Every file of the directory named as chunk_files names them.
    outcome<std::vector<chunk_file_name>> list() const;
    // Removes each listed file for which `referenced` is false; how many.
    outcome<std::size_t> sweep(const std::function<outcome<bool>(const chunk_file_name&)>& referenced);

    // The chunk's bytes, whether `value` (its chunks-family value) holds
    // them or refers to a file.
    outcome<std::string> resolve(const uuid& user, const digest& id, std::string value) const;
    // The same for a value seen through an iterator: `value` itself, or the
    // file's bytes, read into `buffer`.
    outcome<std::string_view> bytes_of(const uuid& user, const digest& id, std::string_view value,
                                       std::string& buffer) const;

    const std::filesystem::path& dir() const { return dir_; }
    std::string path_of(const uuid& user, const digest& id, std::uint64_t number) const;

private:
    std::filesystem::path dir_;
    std::shared_ptr<rocksdb::FileSystem> fs_;
    std::atomic<std::uint64_t> next_number_;
    mutable std::mutex in_flight_mutex_;
    std::unordered_set<std::uint64_t> in_flight_;
    std::mutex retired_mutex_;
    std::vector<std::pair<std::uint64_t, chunk_file_name>> retired_;  // (after, file)
};

// A few threads that run queued tasks (the store's chunk file writes, which
// wait on the disk, off the caller's thread). The destructor runs every
// task queued before it. Thread-safe.
class task_threads {
public:
    task_threads(std::size_t threads, const char* name);
    ~task_threads();
    task_threads(const task_threads&) = delete;
    task_threads& operator=(const task_threads&) = delete;

    void post(std::function<void()> task);
    // Returns once no task is queued or running.
    void drain();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<std::function<void()>> tasks_;
    std::size_t running_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace chunklog::storage
