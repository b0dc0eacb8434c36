// log_store: the chunklog data model (chunks, transactions, HEAD, the
// committed chain, snapshots, tokens and quotas) with the protocol's rules,
// behind one interface with two implementations: an embedded RocksDB
// directory (storage/rocksdb, the default) and a PostgreSQL database shared
// by any number of chunklogd nodes (storage/postgresql). The HTTP layer sees
// only this interface; both stores give the same answers.
//
// Every write is atomic and durable (synced) before the call returns,
// unless sync is turned off in store_options. Calls block on disk or on the
// database: run them off I/O threads. A write that fails for lack of disk
// space is errc::insufficient_storage and stores nothing; the store then
// refuses writes with that error and tries to resume in the background.
// A store that cannot reach its database, or whose RocksDB write failed,
// answers errc::unavailable. The accounts part (tokens and quotas) survives
// delete_user.
//
// A store records its format (a RocksDB directory) or schema version (a
// PostgreSQL database): open() refuses a newer one and upgrades an older one
// in place first. Garbage collection and history truncation
// (collect_garbage) run beside reads and writes, in bounded batches. All
// member functions are thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chunklog/storage/log_cursor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Env;
}

namespace chunklog::storage {

enum class store_kind { rocksdb, postgresql };

struct store_options {
    std::filesystem::path dir = "data";           // rocksdb: the data directory
    store_kind kind = store_kind::rocksdb;
    std::string connection = {};                  // postgresql: a libpq connection string or URI
    std::size_t pool_size = 16;                   // postgresql: connections per node
    bool sync_writes = true;                      // fsync the WAL before a write returns
    std::size_t block_cache_bytes = 64ULL << 20;  // read cache shared by table blocks and chunk blobs
    rocksdb::Env* env = nullptr;                  // rocksdb: custom environment (fault injection in tests)
    // rocksdb: a chunk PUT of at least this many bytes writes the chunk to a
    // file of its own, once, and only a reference through the write-ahead
    // log (0: never; raised to 4096 when lower).
    std::uint64_t chunk_file_bytes = 256 << 10;
    // Where the store reports what it cannot return as an error (a write
    // failure that made it read-only); stderr when empty. Called from any thread.
    std::function<void(std::string_view)> log_error = nullptr;
    // Each user's limit on stored chunk bytes unless set per user (0: none).
    std::uint64_t default_quota_bytes = 0;
    // While writes are refused for lack of space, how often to try resuming.
    std::chrono::milliseconds resume_interval{1000};
    // rocksdb, for tests: called on the commit pipeline's writer thread
    // before it plans each group, with the number of writes waiting.
    std::function<void(std::size_t)> before_write_group = nullptr;
    // Where the store reports events worth a log line (a format upgrade);
    // stderr when empty. Called from the thread that opens the store.
    std::function<void(std::string_view)> log_info = nullptr;

    // Garbage collection (protocol section 9): dead and pending transactions,
    // and chunks nothing refers to, are collected once stored (or re-sent)
    // more than gc_grace ago.
    std::chrono::milliseconds gc_grace{std::chrono::hours(24)};
    // History truncation: committed transactions before the snapshot's,
    // committed more than this ago, are removed by a pass (0: keep all).
    std::chrono::milliseconds history_retention{0};
    // The share of its time a garbage collection pass works: after each
    // batch it rests, holding nothing, for as long as that share calls for
    // (0.25: three times as long as it worked), so that requests beside it keep their
    // latency. 1: no rest. Clamped to [0.01, 1].
    double gc_duty = 0.25;
    // Snapshot urgency (protocol section 8): low from this many committed
    // transactions after the snapshot, or from this age; high from 1.5
    // times either. 0 turns that criterion off.
    std::uint64_t snapshot_after = 100;
    std::chrono::milliseconds snapshot_age{std::chrono::hours(24 * 14)};
    // The store's clock in Unix milliseconds (tests set one); empty: the system clock.
    std::function<std::int64_t()> clock = nullptr;
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

// How much a new snapshot is wanted (protocol section 8).
enum class snapshot_urgency { none, low, high };

// What a publish did, so callers count and notify from facts, not guesses.
struct publish_result {
    head_state before;  // HEAD when the request was applied
    head_state after;   // HEAD after it
    bool head_advanced = false;
    std::size_t chunks_created = 0;
    std::uint64_t chunk_bytes_created = 0;
    std::size_t transactions_created = 0;
    // The snapshot urgency right after the publish, when the store learned
    // it on the way (else the caller asks urgency()).
    std::optional<snapshot_urgency> urgency;
};

// A user's snapshot (protocol section 8): a client's whole state after the
// committed chain up to `transaction`, as opaque chunks.
struct snapshot_record {
    uuid transaction;
    std::uint64_t seq = 0;
    std::int64_t created = 0;  // Unix milliseconds
    std::vector<digest> chunks;

    friend bool operator==(const snapshot_record&, const snapshot_record&) = default;
};

struct snapshot_ref {
    uuid transaction;
    std::uint64_t seq = 0;

    friend bool operator==(const snapshot_ref&, const snapshot_ref&) = default;
};

struct stored_snapshot {
    insert_result result;  // created: it is the snapshot now; already_present: one at its seq or later stays
    snapshot_ref in_force;
};

// TaskChampion's add-version (protocol section 12): a new version is a new
// transaction holding one chunk, made HEAD at once.
struct new_version {
    uuid parent;             // the parent the client names (ROOT: TaskChampion's nil)
    uuid id;                 // the new transaction's id (random, chosen by the caller)
    digest chunk;            // SHA-256 of bytes (verified by the caller)
    std::string_view bytes;  // the version's bytes
};

// What get-child-version finds after a parent version.
struct child_version {
    enum class status {
        found,       // `id` and `bytes` hold the child
        up_to_date,  // the parent is HEAD, or the user has no version
        gone,        // the parent is unknown, not committed or truncated, or the child is no version
    };
    status outcome = status::gone;
    uuid id;
    std::string bytes;
};

// A snapshot of one chunk, as TaskChampion stores them.
struct version_snapshot {
    uuid version;  // the snapshot's transaction
    std::string bytes;
};

// What GET /0.1/{user} reports, from one consistent read.
struct user_overview {
    user_summary summary;  // transactions: committed ones still stored
    std::optional<snapshot_ref> snapshot;
    snapshot_urgency urgency = snapshot_urgency::none;
    std::uint64_t history_from = 0;  // seq of the oldest committed transaction still stored, minus one
};

// What one garbage collection pass did.
struct gc_result {
    std::uint64_t transactions = 0;  // removed: dead and pending ones, plus truncated history
    std::uint64_t truncated = 0;     // of which committed (history truncation)
    std::uint64_t chunks = 0;        // removed chunks
    std::uint64_t bytes = 0;         // their bytes
    std::uint64_t examined = 0;      // records looked at
    std::uint64_t users = 0;         // users visited
    std::chrono::nanoseconds duration{0};
    bool stopped = false;            // ended early on request
};

// What other nodes of a shared store changed (log_store::watch).
struct store_events {
    std::function<void(const std::optional<uuid>&)> head_moved;       // the user's HEAD moved
    std::function<void(const std::optional<digest>&)> token_revoked;  // the token with this secret hash is gone
};

class log_store {
public:
    // Opens (creating if needed) the store options.location names.
    static outcome<std::unique_ptr<log_store>> open(const store_options& options);
    virtual ~log_store() = default;
    log_store(const log_store&) = delete;
    log_store& operator=(const log_store&) = delete;

    // False while writes are refused (out of space, or after a failed write).
    virtual bool writable() const noexcept = 0;
    virtual write_state writes() const noexcept = 0;

    virtual outcome<head_state> head(const uuid& user) const = 0;
    // The counts of GET /0.1/{user}: `transactions` counts the committed
    // transactions still stored (HEAD's seq minus the truncated ones).
    virtual outcome<user_summary> summary(const uuid& user) const = 0;
    virtual outcome<user_overview> overview(const uuid& user) const = 0;
    virtual outcome<std::optional<std::string>> chunk(const uuid& user, const digest& id) const = 0;
    // A stored chunk's size without reading its bytes; nullopt when absent.
    virtual outcome<std::optional<std::uint64_t>> chunk_size(const uuid& user, const digest& id) const = 0;
    // chunk() and chunk_size() without waiting on the disk.
    virtual outcome<cached_read<std::string>> cached_chunk(const uuid& user, const digest& id) const = 0;
    virtual outcome<cached_read<std::uint64_t>> cached_chunk_size(const uuid& user, const digest& id) const = 0;
    // The chunks of `ids` not stored for the user, in order, without repeats.
    virtual outcome<std::vector<digest>> missing_chunks(const uuid& user, std::span<const digest> ids) const = 0;
    // A committed transaction; nullopt for unknown, pending, dead, ROOT or truncated.
    virtual outcome<std::optional<transaction_record>> committed_transaction(const uuid& user, const uuid& id) const = 0;
    // Committed transactions after `from`: ROOT or a committed transaction
    // still stored. Else errc::history_truncated once the user's history was
    // truncated and `from` is ROOT or not stored (it may have been removed),
    // and errc::not_found otherwise (unknown, pending or dead).
    virtual outcome<committed_listing> list_committed(const uuid& user, const uuid& from, std::size_t limit) const = 0;

    // A cursor over committed transactions after `from` (as list_committed),
    // reading from a snapshot taken now. With from_snapshot, when the user
    // has a snapshot later than `from` (or `from` fell into truncated
    // history), the cursor starts with that snapshot (log_cursor::snapshot)
    // and goes on after it.
    virtual outcome<log_cursor> open_log(const uuid& user, const uuid& from, bool from_snapshot = false) const = 0;

    // Snapshots (protocol section 8). put_snapshot: `id` must be committed
    // (else not_found) and every chunk stored (else missing_chunks, checked
    // only when the snapshot would replace the one in force).
    virtual outcome<stored_snapshot> put_snapshot(const uuid& user, const uuid& id, std::span<const digest> chunks) = 0;
    virtual outcome<std::optional<snapshot_record>> snapshot(const uuid& user) const = 0;
    virtual outcome<snapshot_urgency> urgency(const uuid& user) const = 0;

    // One garbage collection pass over every user (protocol section 9):
    // dead and pending transactions and unreferenced chunks older than
    // gc_grace, then truncated history. Runs beside reads and writes in
    // bounded batches, holding no lock across a disk sync or a whole user;
    // a transaction stored meanwhile either finds the chunks it names or
    // gets missing_chunks. One pass at a time (a second call waits). Stops
    // between batches once `stop` is true. Its removals are synced before
    // it returns.
    virtual outcome<gc_result> collect_garbage(const std::atomic<bool>* stop = nullptr) = 0;
    virtual std::chrono::milliseconds gc_grace() const = 0;
    virtual std::chrono::milliseconds history_retention() const = 0;

    // Precondition: id is the SHA-256 of bytes (the caller verified it). A
    // chunk already stored is re-sent: its stored time is refreshed.
    virtual outcome<insert_result> put_chunk(const uuid& user, const digest& id, std::string_view bytes) = 0;
    virtual outcome<stored_transaction> put_transaction(const uuid& user, const new_transaction& t) = 0;
    // Compare-and-swap HEAD to `target`, committing the chain up to it;
    // returns HEAD as this write left it (`target` and its seq).
    virtual outcome<head_state> advance_head(const uuid& user, const uuid& target) = 0;
    // Stores everything in `request` and advances HEAD in one atomic, synced
    // write, or nothing at all. A `head` that is already committed (HEAD or
    // an ancestor of it) is a re-send only when every transaction of the
    // request already exists with the same content: then nothing changes
    // but chunks the store lacks are stored. With a new transaction such a
    // `head` is a conflict and nothing is stored. Chunk existence is read
    // before the HEAD lock; a request naming many ids locks the user's
    // writes as a whole instead of one key stripe per id, so no request
    // holds every stripe.
    virtual outcome<publish_result> publish(const uuid& user, const publish_request& request) = 0;

    // Writes that a store queues and completes later, with no thread waiting
    // for them (the RocksDB store's commit pipeline), when queues_writes().
    // The same rules and guarantees as publish() and put_chunk(); `done` is
    // called exactly once, on a thread of the store's, and must not block;
    // `bytes` must stay valid until then. A store that does not queue runs
    // the write on the calling thread (so callers that must not block ask
    // queues_writes() first).
    virtual bool queues_writes() const noexcept { return false; }
    virtual void publish_queued(const uuid& user, publish_request request,
                                std::function<void(outcome<publish_result>)> done) {
        done(publish(user, request));
    }
    virtual void put_chunk_queued(const uuid& user, const digest& id, std::string_view bytes,
                                  std::function<void(outcome<insert_result>)> done) {
        done(put_chunk(user, id, bytes));
    }
    // Returns once every write queued before the call has called its `done`
    // (so that what those callbacks reach can be destroyed afterwards).
    virtual void drain_writes() {}
    // What the store's commit pipeline did since the store opened: groups
    // committed and writes in them (zeros for a store without one).
    struct write_group_stats {
        std::uint64_t groups = 0;
        std::uint64_t writes = 0;
    };
    virtual write_group_stats write_groups() const { return {}; }
    // TaskChampion versions (protocol section 12; storage/versions.cpp).
    // add_version stores the chunk and the transaction and advances HEAD in
    // one atomic, synced write, when v.parent is HEAD or the user has no
    // version yet (HEAD is ROOT: the version becomes a child of ROOT and a
    // parent other than ROOT is remembered as its origin parent); otherwise
    // errc::conflict naming HEAD, and nothing is stored. Quota and disk
    // errors as publish.
    virtual outcome<publish_result> add_version(const uuid& user, const new_version& v) = 0;
    // The committed child of `parent`, from one consistent read: HEAD, the
    // chain and the origin parent as they were at one instant. ROOT finds
    // the first version unless it was sent with an origin parent; the origin
    // parent finds it then.
    virtual outcome<child_version> find_child_version(const uuid& user, const uuid& parent) const = 0;
    // TaskChampion's snapshot rule: stores a snapshot of one chunk (the
    // chunk and the snapshot in one write) when `version` is HEAD or one of
    // its 4 nearest ancestors, never ROOT, and later than the snapshot in
    // force; false when ignored (nothing is stored then).
    virtual outcome<bool> put_version_snapshot(const uuid& user, const uuid& version, const digest& chunk, std::string_view bytes) = 0;
    // The user's snapshot with its chunk's bytes, when it holds exactly one chunk.
    virtual outcome<std::optional<version_snapshot>> find_version_snapshot(const uuid& user) const = 0;
    // The origin parent of the committed transaction `id`; nullopt when it has none.
    virtual outcome<std::optional<uuid>> origin_parent(const uuid& user, const uuid& id) const = 0;

    // Removes everything of the user in one atomic step; idempotent. Tokens
    // and the user's quota stay.
    virtual outcome<void> delete_user(const uuid& user) = 0;

    // Quotas. put_chunk and publish answer errc::quota_exceeded, storing
    // nothing, when their new chunks would take the user's stored chunk
    // bytes past the limit in force (reaching it exactly is fine; chunks
    // already stored do not count again). Exact under concurrent writers.
    // nullopt: the user follows store_options::default_quota_bytes.
    virtual outcome<void> set_quota(const uuid& user, std::optional<std::uint64_t> bytes) = 0;
    virtual outcome<std::optional<std::uint64_t>> user_quota(const uuid& user) const = 0;
    // The limit in force for the user (0: none).
    virtual outcome<std::uint64_t> quota_in_force(const uuid& user) const = 0;

    // Tokens, keyed by the SHA-256 of their secret.
    virtual outcome<std::optional<token_record>> find_token(const digest& secret_hash) const = 0;
    // Stores a new token. With only_if_first, atomically refuses
    // (errc::forbidden) when the user already has a token (the first token
    // claims a user id). errc::conflict when the hash or the id is taken.
    virtual outcome<void> create_token(const digest& secret_hash, const token_record& token, bool only_if_first) = 0;
    // The user's tokens in creation order.
    virtual outcome<std::vector<token_record>> list_tokens(const uuid& user) const = 0;
    // Removes the token `id` of the user; returns its secret's hash (so that
    // caches can forget it at once), or errc::not_found.
    virtual outcome<digest> revoke_token(const uuid& user, std::string_view id) = 0;

    // Users that have data, tokens or a quota, ascending by id, after `after`
    // (exclusive; nullopt: from the first), at most `limit`.
    virtual outcome<std::vector<uuid>> list_users(const std::optional<uuid>& after, std::size_t limit) const = 0;

    // Tells `events` what other nodes of the store changed, so that long
    // polls and caches here follow: nullopt stands for "any" (after a lost
    // connection, and periodically as a safety net). Called from a thread of
    // the store's own; must not block. A store with one node never calls
    // them. Empty events stop the calls (when this returns, none runs).
    virtual void watch(store_events events) { (void)events; }
    // True when reads wait on the network (a database server): then every
    // call belongs off I/O threads, reads included. False for RocksDB,
    // whose reads from memory are fine on I/O threads.
    virtual bool reads_block() const noexcept { return false; }

protected:
    log_store() = default;
};

}  // namespace chunklog::storage
