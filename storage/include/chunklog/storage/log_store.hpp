// log_store: the chunklog data model on RocksDB (chunks, transactions, HEAD,
// committed chain) with the protocol's rules for HEAD.
//
// Every write is one atomic RocksDB WriteBatch, synced to the write-ahead log
// before the call returns (unless sync is turned off in store_options), and
// concurrent callers share syncs through RocksDB's write group. Calls block
// on disk: run them off I/O threads. After a failed write the store refuses
// writes (errc::unavailable) until it is reopened. All member functions are
// thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chunklog/storage/log_cursor.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rocksdb {
class Env;
}

namespace chunklog::storage {

struct store_options {
    std::filesystem::path dir = "data";
    bool sync_writes = true;                      // fsync the WAL before a write returns
    std::size_t block_cache_bytes = 64ULL << 20;  // read cache shared by table blocks and chunk blobs
    rocksdb::Env* env = nullptr;                  // custom environment (fault injection in tests)
    // Where the store reports what it cannot return as an error (a write
    // failure that made it read-only); stderr when empty. Called from any thread.
    std::function<void(std::string_view)> log_error = nullptr;
};

// A transaction as a client proposes it: seq, when given, is checked.
struct new_transaction {
    uuid id;
    uuid parent;
    std::optional<std::uint64_t> seq;
    std::vector<digest> chunks;
};

struct committed_listing {
    head_state head;
    std::vector<uuid> ids;  // ascending seq
};

enum class insert_result { created, already_present };

// A read that may not wait on the disk (for I/O threads): answered from the
// memtables and the caches only. `on_disk` when the value lies in files
// outside the caches: read it again where blocking is fine.
template <typename T>
struct cached_read {
    bool on_disk = false;
    std::optional<T> value;  // nullopt: absent (or on disk)
};

struct stored_transaction {
    insert_result result;
    transaction_record record;  // as stored, with its seq
};

// One POST publish: chunks, transactions (parent-first) and optionally the
// HEAD to advance to, applied all or nothing.
struct publish_request {
    std::vector<std::pair<digest, std::string>> chunks;  // id, bytes (verified by the caller)
    std::vector<new_transaction> transactions;
    std::optional<uuid> head;
};

// What a publish did, so callers count and notify from facts, not guesses.
struct publish_result {
    head_state before;  // HEAD when the request was applied
    head_state after;   // HEAD after it
    bool head_advanced = false;
    std::size_t chunks_created = 0;
    std::uint64_t chunk_bytes_created = 0;
    std::size_t transactions_created = 0;
};

class log_store {
public:
    // Opens (creating if needed) the store in options.dir.
    static outcome<std::unique_ptr<log_store>> open(const store_options& options);
    ~log_store();
    log_store(const log_store&) = delete;
    log_store& operator=(const log_store&) = delete;

    // False once a write has failed: the store then only serves reads.
    bool writable() const noexcept;

    outcome<head_state> head(const uuid& user) const;
    outcome<user_summary> summary(const uuid& user) const;
    outcome<std::optional<std::string>> chunk(const uuid& user, const digest& id) const;
    // A stored chunk's size without reading its bytes; nullopt when absent.
    outcome<std::optional<std::uint64_t>> chunk_size(const uuid& user, const digest& id) const;
    // chunk() and chunk_size() without waiting on the disk.
    outcome<cached_read<std::string>> cached_chunk(const uuid& user, const digest& id) const;
    outcome<cached_read<std::uint64_t>> cached_chunk_size(const uuid& user, const digest& id) const;
    // The chunks of `ids` not stored for the user, in order, without repeats.
    outcome<std::vector<digest>> missing_chunks(const uuid& user, std::span<const digest> ids) const;
    // A committed transaction; nullopt for unknown, pending, dead or ROOT.
    outcome<std::optional<transaction_record>> committed_transaction(const uuid& user, const uuid& id) const;
    // Committed transactions after `from` (ROOT or committed, else not_found).
    outcome<committed_listing> list_committed(const uuid& user, const uuid& from, std::size_t limit) const;

    // A cursor over committed transactions after `from` (ROOT or committed,
    // else not_found), reading from a snapshot taken now.
    outcome<log_cursor> open_log(const uuid& user, const uuid& from) const;

    // Precondition: id is the SHA-256 of bytes (the caller verified it).
    outcome<insert_result> put_chunk(const uuid& user, const digest& id, std::string_view bytes);
    outcome<stored_transaction> put_transaction(const uuid& user, const new_transaction& t);
    // Compare-and-swap HEAD to `target`, committing the chain up to it.
    outcome<void> advance_head(const uuid& user, const uuid& target);
    // Stores everything in `request` and advances HEAD in one atomic, synced
    // write, or nothing at all. A `head` that is already committed (HEAD or
    // an ancestor of it) is a re-send only when every transaction of the
    // request already exists with the same content: then nothing changes
    // but chunks the store lacks are stored. With a new transaction such a
    // `head` is a conflict and nothing is stored. Chunk existence is read
    // before the HEAD lock; a request naming many ids locks the user's
    // writes as a whole instead of one key stripe per id, so no request
    // holds every stripe.
    outcome<publish_result> publish(const uuid& user, const publish_request& request);
    // Removes everything of the user in one atomic step; idempotent.
    outcome<void> delete_user(const uuid& user);

    struct impl;

private:
    explicit log_store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::storage
