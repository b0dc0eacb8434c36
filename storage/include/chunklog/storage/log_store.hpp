// log_store: the chunklog data model on RocksDB (chunks, transactions, HEAD,
// committed chain) with the protocol's rules for HEAD.
//
// Every write is one atomic RocksDB WriteBatch, synced to the write-ahead log
// before the call returns (unless sync is turned off in store_options), and
// concurrent callers share syncs through RocksDB's write group. Calls block
// on disk: run them off I/O threads. A write that fails for lack of disk
// space is errc::insufficient_storage and stores nothing; the store then
// refuses writes with that error and tries to resume in the background
// until space is free again. After any other write failure it refuses writes
// (errc::unavailable) until it is reopened. The accounts part (tokens and
// quotas) lives beside the users' data and survives delete_user. All member
// functions are thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chunklog/storage/log_cursor.hpp>

#include <chrono>
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
    // Each user's limit on stored chunk bytes unless set per user (0: none).
    std::uint64_t default_quota_bytes = 0;
    // While writes are refused for lack of space, how often to try resuming.
    std::chrono::milliseconds resume_interval{1000};
};

enum class token_scope : std::uint8_t { read = 1, write = 2 };

// A device token as stored: never the secret, only its SHA-256 (the key).
struct token_record {
    std::string id;  // public name: [A-Za-z0-9_-], at most 64 characters
    uuid user;
    token_scope scope = token_scope::write;
    std::string label;
    std::int64_t created = 0;               // Unix seconds
    std::optional<std::int64_t> expires;    // Unix seconds; none: never

    friend bool operator==(const token_record&, const token_record&) = default;
};

// Which state the store's writes are in (GET /healthz reports all but `ok` as 503).
enum class write_state { ok, no_space, failed };

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

    // False while writes are refused (out of space, or after a failed write).
    bool writable() const noexcept;
    write_state writes() const noexcept;

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
    // Removes everything of the user in one atomic step; idempotent. Tokens
    // and the user's quota stay.
    outcome<void> delete_user(const uuid& user);

    // Quotas. put_chunk and publish answer errc::quota_exceeded, storing
    // nothing, when their new chunks would take the user's stored chunk
    // bytes past the limit in force (reaching it exactly is fine; chunks
    // already stored do not count again). Exact under concurrent writers.
    // nullopt: the user follows store_options::default_quota_bytes.
    outcome<void> set_quota(const uuid& user, std::optional<std::uint64_t> bytes);
    outcome<std::optional<std::uint64_t>> user_quota(const uuid& user) const;
    // The limit in force for the user (0: none).
    outcome<std::uint64_t> quota_in_force(const uuid& user) const;

    // Tokens, keyed by the SHA-256 of their secret.
    outcome<std::optional<token_record>> find_token(const digest& secret_hash) const;
    // Stores a new token. With only_if_first, atomically refuses
    // (errc::forbidden) when the user already has a token (the first token
    // claims a user id). errc::conflict when the hash or the id is taken.
    outcome<void> create_token(const digest& secret_hash, const token_record& token, bool only_if_first);
    // The user's tokens in creation order.
    outcome<std::vector<token_record>> list_tokens(const uuid& user) const;
    // Removes the token `id` of the user; returns its secret's hash (so that
    // caches can forget it at once), or errc::not_found.
    outcome<digest> revoke_token(const uuid& user, std::string_view id);

    // Users that have data, tokens or a quota, ascending by id, after `after`
    // (exclusive; nullopt: from the first), at most `limit`.
    outcome<std::vector<uuid>> list_users(const std::optional<uuid>& after, std::size_t limit) const;

    struct impl;

private:
    explicit log_store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::storage
