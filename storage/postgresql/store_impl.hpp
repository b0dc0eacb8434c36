// postgresql_store's internals, shared by its translation units: the pool,
// the options, and the SQL steps the operations are built from. Each step
// takes the connection of the caller's database transaction. A write locks
// its user's row (lock_user) before it reads what it relies on, so the
// user's writes are serialized across every node; garbage collection takes
// the same lock for each of its batches. Thread-safe like the store.
#pragma once

#include "storage/postgresql/pg.hpp"
#include "storage/postgresql/pool.hpp"
#include "storage/postgresql/postgresql_store.hpp"

#include <atomic>
#include <mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>

namespace chunklog::storage {

class store_listener;
class store_notifier;

namespace pg {

// A user's row, as read (absent: every field at its default).
struct user_row {
    bool exists = false;
    bool created = false;  // inserted by this transaction's lock_user
    head_state head;
    std::uint64_t history_from = 0;
    std::int64_t chunk_count = 0;
    std::int64_t chunk_bytes = 0;
    std::optional<uuid> origin_parent;
    std::optional<uuid> origin_version;
    std::optional<snapshot_record> snapshot;
    bool quota_read = false;                  // lock_user read the user's own quota:
    std::optional<std::int64_t> own_quota;    // nullopt: the default applies
};

// A transaction as stored.
struct stored_tx {
    transaction_record record;
    std::optional<std::int64_t> committed;  // commit time once on the chain
};

using pending_transactions = std::unordered_map<uuid, transaction_record, id_hash>;

std::string join_ids(std::span<const digest> ids);
std::string join_ids(std::span<const uuid> ids);
outcome<std::vector<digest>> split_digests(std::string_view joined);

outcome<user_row> read_user(connection& c, const uuid& user);
// Creates the user's row when absent and locks it until the transaction ends.
outcome<user_row> lock_user(connection& c, const uuid& user);
// Drops a row lock_user created when the transaction stored nothing else.
outcome<void> forget_if_unused(connection& c, const uuid& user, const user_row& row);
outcome<std::optional<stored_tx>> read_transaction(connection& c, const uuid& user, const uuid& id);
// The committed transaction at `seq` and its commit time.
outcome<std::optional<std::pair<uuid, std::int64_t>>> chain_at(connection& c, const uuid& user, std::uint64_t seq);
outcome<bool> has_children(connection& c, const uuid& user, const uuid& id);
std::vector<digest> distinct_ids(std::span<const digest> ids);  // in order, without repeats
// Runs `sql` ($1: the user, $2: the distinct `ids` joined), which returns
// the ids it found; the others, in order.
outcome<std::vector<digest>> not_found_by(connection& c, const char* sql, const uuid& user,
                                          std::span<const digest> ids);
outcome<std::vector<digest>> missing_chunks(connection& c, const uuid& user, std::span<const digest> ids);
// Where a listing after `from` starts (see rocksdb_store::impl::committed_seq).
outcome<std::uint64_t> committed_seq(connection& c, const uuid& user, const uuid& from, const user_row& row);
// The origin record when it still counts (its version is at seq 1).
outcome<std::optional<std::pair<uuid, uuid>>> origin_of(connection& c, const uuid& user, const user_row& row);
// Adds `delta` to the references of each distinct chunk of `chunks`.
outcome<void> add_references(connection& c, const uuid& user, std::span<const digest> chunks, std::int64_t delta);
outcome<std::optional<std::uint64_t>> read_quota(connection& c, const uuid& user);

error conflict(const head_state& h, std::string message);

}  // namespace pg

struct postgresql_store::impl {
    std::unique_ptr<store_notifier> notifier;  // outlives the pool, which hands it notifications
    std::unique_ptr<pg::pool> pool;
    std::string conninfo;
    std::function<std::int64_t()> clock;
    std::function<void(std::string_view)> log_error;
    std::uint64_t default_quota = 0;
    std::chrono::milliseconds gc_grace{0};
    std::chrono::milliseconds history_retention{0};
    double gc_duty = 1.0;
    std::uint64_t snapshot_after = 0;
    std::chrono::milliseconds snapshot_age{0};
    std::mutex gc_pass;  // one pass at a time on this node (an advisory lock across nodes)
    std::atomic<bool> database_down{false};
    std::unique_ptr<store_listener> listener;

    std::int64_t now() const;

    // One read-only transaction that sees one state of the database.
    template <typename F>
    auto read(F&& fn) {
        return track(pool->transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", std::forward<F>(fn)));
    }
    // One statement alone, outside a transaction block.
    template <typename F>
    auto read_one(F&& fn) {
        return track(pool->statement(std::forward<F>(fn)));
    }
    // One statement that writes, alone (atomic, and durable once it returns).
    template <typename F>
    auto write_one(F&& fn) {
        return track(pool->statement(std::forward<F>(fn)));
    }
    // One read-write transaction (read committed: each step sees the rows
    // other transactions committed before it, and the user lock orders them).
    template <typename F>
    auto write(F&& fn) {
        return track(pool->transaction("BEGIN", std::forward<F>(fn)));
    }

    outcome<std::uint64_t> quota_in_force(pg::connection& c, const uuid& user);
    // quota_exceeded when `new_bytes` would take the user past the limit in force.
    outcome<void> check_quota(pg::connection& c, const uuid& user, const pg::user_row& row, std::uint64_t new_bytes);

    // Stores the chunk (or refreshes a stored one's time); true when new.
    outcome<bool> store_chunk(pg::connection& c, const uuid& user, const digest& id, std::string_view bytes);
    outcome<stored_transaction> plan_transaction(pg::connection& c, const uuid& user, const new_transaction& t,
                                                 const pg::pending_transactions* pending);
    // Commits the chain from HEAD `h` up to `target` (the caller moves HEAD
    // in the user's row) and notifies the other nodes once committed.
    outcome<void> advance(pg::connection& c, const uuid& user, const head_state& h, const transaction_record& target,
                          const pg::pending_transactions* pending);
    // The common publish in one round trip (publish_one.cpp); nullopt when
    // the request is not that, or the database finds it is not: the general
    // publish then runs.
    outcome<std::optional<publish_result>> publish_one(const uuid& user, const publish_request& request);
    // Everything of a publish once the user's row is locked.
    outcome<publish_result> apply_publish(pg::connection& c, const uuid& user, pg::user_row& row,
                                          const publish_request& request);
    outcome<snapshot_urgency> urgency_of(pg::connection& c, const uuid& user, const pg::user_row& row);
    // The urgency with HEAD at `head_seq`, the snapshot at `base` (0: none),
    // counting the age from `since` (Unix milliseconds).
    snapshot_urgency urgency_at(std::uint64_t head_seq, std::uint64_t base, std::int64_t since) const;
    outcome<void> write_snapshot(pg::connection& c, const uuid& user, const pg::user_row& row,
                                 const snapshot_record& record);

private:
    template <typename T>
    T track(T r) {
        database_down.store(!r && r.error().code == errc::unavailable, std::memory_order_relaxed);
        return r;
    }
};

}  // namespace chunklog::storage
