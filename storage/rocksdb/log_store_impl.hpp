// rocksdb_store's internals, shared by its translation units: the RocksDB
// handle, the lock tables, the quota reservations, the clock, and the read
// and planning steps that the public operations are built from. Thread-safe
// like the store itself; the planning helpers expect the caller to hold the
// locks the operation needs.
//
// Lock order: a user's data lock, then its HEAD mutex, then key stripes
// (always through user_locks::lock_keys, all at once). A write holds the
// stripe of every id whose existence it checks and relies on: the
// transactions it creates, their parents, the chunks they name, the chunks
// it stores or re-sends, and the transaction it makes HEAD. Garbage
// collection removes a transaction or a chunk only under its stripe, after
// checking again that nothing refers to it, so the two are ordered. A write
// naming more than max_striped_ids ids takes the data lock exclusive instead.
// The commit pipeline takes the same locks for each write of a group and
// holds them until the group is committed (commit_pipeline.hpp).
#pragma once

#include "storage/rocksdb/chunk_files.hpp"
#include "storage/rocksdb/commit_pipeline.hpp"
#include "storage/rocksdb/db_handle.hpp"
#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/quota.hpp"
#include "storage/rocksdb/store_write.hpp"
#include "storage/rocksdb/user_locks.hpp"

#include "storage/rocksdb/rocksdb_store.hpp"

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace chunklog::storage {

// The ids a write relies on (pipeline_write::ids), and apart the
// transaction parents it only reads (pipeline_write::shared_ids).
struct relied_ids {
    std::vector<std::string_view> ids;
    std::vector<std::string_view> parents;
};

// Transactions created earlier in the same (not yet written) request.
using pending_transactions = std::unordered_map<uuid, transaction_record, id_hash>;

// The locks one write holds, taken in the store's lock order.
class write_locks {
public:
    // `ids`: every id the write relies on (repeats allowed).
    write_locks(user_locks& locks, const uuid& user, const std::vector<std::string_view>& ids)
        : locks_(locks), user_(user), entry_(locks.of_user(user)) {
        if (locks_whole_user(ids)) {
            data_.emplace<std::unique_lock<writer_preferring_mutex>>(entry_.data);
        } else {
            data_.emplace<std::shared_lock<writer_preferring_mutex>>(entry_.data);
            ids_ = ids;
        }
    }

    // Takes HEAD (when asked) and the key stripes; call once.
    void lock(bool head) {
        if (head) head_ = std::unique_lock(entry_.head);
        if (!ids_.empty()) keys_ = locks_.lock_keys(user_, ids_);
    }

private:
    user_locks& locks_;
    const uuid& user_;
    user_locks::user_entry& entry_;
    std::vector<std::string_view> ids_;  // empty when exclusive
    std::variant<std::monostate, std::shared_lock<writer_preferring_mutex>, std::unique_lock<writer_preferring_mutex>>
        data_;
    std::unique_lock<std::mutex> head_;
    std::vector<std::unique_lock<std::mutex>> keys_;
};

struct rocksdb_store::impl {
    std::unique_ptr<db_handle> handle;
    user_locks locks;
    std::atomic<int> open_cursors{0};  // a cursor must not outlive the store
    std::uint64_t default_quota = 0;
    quota_reservations quotas;
    std::mutex token_writes;  // serializes token creation and revocation (both rare)
    std::mutex gc_pass;       // one garbage collection pass at a time
    std::function<std::int64_t()> clock;
    std::chrono::milliseconds gc_grace{0};
    std::chrono::milliseconds history_retention{0};
    double gc_duty = 1.0;  // in (0, 1]
    std::uint64_t snapshot_after = 0;
    std::chrono::milliseconds snapshot_age{0};
    // Large chunks' files (chunk_files.hpp), and the chunk size from which
    // a chunk PUT writes one (0: never).
    std::unique_ptr<chunk_files> files;
    std::uint64_t file_threshold = 0;
    // The common writes' path (queued_writes.cpp); declared after what it
    // uses, so that it finishes its queued writes before any of that goes.
    std::unique_ptr<commit_pipeline> pipeline;
    // Where chunk files are written before their writes are queued; declared
    // last: its tasks queue to the pipeline, so it goes first.
    std::unique_ptr<task_threads> file_writers;

    rocksdb::DB& db() { return handle->db(); }

    // Unix milliseconds.
    std::int64_t now() const;

    outcome<head_state> read_head(const uuid& user, const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::head(user), snap);
        if (!value) return value.error();
        if (!*value) return head_state{};
        auto h = keys::decode_head(**value);
        if (!h) return make_error(errc::internal, "corrupt HEAD record");
        return *h;
    }

    // HEAD for a caller that holds the user's HEAD mutex: from memory when
    // the last write or read under that mutex left it there.
    outcome<head_state> read_head_locked(const uuid& user) {
        if (auto known = locks.known_head(user)) return *known;
        auto h = read_head(user);
        if (h) locks.remember_head(user, *h);
        return h;
    }

    outcome<std::optional<transaction_record>> read_transaction(const uuid& user, const uuid& id,
                                                                const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::transaction(user, id), snap);
        if (!value) return value.error();
        if (!*value) return std::optional<transaction_record>{};
        auto t = keys::decode_transaction(id, **value);
        if (!t) return make_error(errc::internal, "corrupt transaction record");
        return t;
    }

    // The committed chain's entry at `seq`; nullopt when there is none.
    outcome<std::optional<keys::chain_entry>> read_chain(const uuid& user, std::uint64_t seq,
                                                         const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::chain(user, seq), snap);
        if (!value) return value.error();
        if (!*value) return std::optional<keys::chain_entry>{};
        auto e = keys::decode_chain_entry(**value);
        if (!e) return make_error(errc::internal, "corrupt chain index entry");
        return e;
    }

    // The seq up to which history was truncated (0: none).
    outcome<std::uint64_t> read_history_from(const uuid& user, const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::history_from(user), snap);
        if (!value) return value.error();
        if (!*value) return std::uint64_t{0};
        auto seq = keys::decode_u64(**value);
        if (!seq) return make_error(errc::internal, "corrupt history record");
        return *seq;
    }

    outcome<std::optional<snapshot_record>> read_snapshot(const uuid& user, const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::snapshot(user), snap);
        if (!value) return value.error();
        if (!*value) return std::optional<snapshot_record>{};
        auto s = keys::decode_snapshot(**value);
        if (!s) return make_error(errc::internal, "corrupt snapshot record");
        return s;
    }

    // The user's origin parent record (protocol section 12) as seen by
    // `snap`, when it still counts: the chain's entry at seq 1 names its
    // version (a record an older GC pass left behind does not).
    outcome<std::optional<keys::origin_record>> read_origin(const uuid& user, const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::origin(user), snap);
        if (!value) return value.error();
        if (!*value) return std::optional<keys::origin_record>{};
        auto o = keys::decode_origin(**value);
        if (!o) return make_error(errc::internal, "corrupt origin parent record");
        auto first = read_chain(user, 1, snap);
        if (!first) return first.error();
        if (!*first || (*first)->id != o->version) return std::optional<keys::origin_record>{};
        return o;
    }

    // True when `t` is on the committed chain as seen by `snap`.
    outcome<bool> is_committed(const uuid& user, const transaction_record& t, const rocksdb::Snapshot* snap) {
        auto entry = read_chain(user, t.seq, snap);
        if (!entry) return entry.error();
        return *entry && (*entry)->id == t.id;
    }

    // Where a listing or log that starts after `from` begins, as seen by
    // `snap`: the seq of `from` (ROOT: 0) when it is ROOT or committed;
    // history_truncated when the user's history was truncated and `from` is
    // ROOT or not stored (it may have been removed); else not_found.
    outcome<std::uint64_t> committed_seq(const uuid& user, const uuid& from, const rocksdb::Snapshot* snap) {
        auto truncated = read_history_from(user, snap);
        if (!truncated) return truncated.error();
        auto removed = [] {
            return make_error(errc::history_truncated, "`from` is in the history removed by truncation: "
                                                       "start from the snapshot");
        };
        if (from.is_root()) {
            if (*truncated != 0) return removed();
            return std::uint64_t{0};
        }
        auto t = read_transaction(user, from, snap);
        if (!t) return t.error();
        if (!*t) {
            if (*truncated != 0) return removed();
            return make_error(errc::not_found, "`from` is not a committed transaction");
        }
        auto committed = is_committed(user, **t, snap);
        if (!committed) return committed.error();
        if (!*committed) return make_error(errc::not_found, "`from` is not a committed transaction");
        return (*t)->seq;
    }

    // A transaction from this request's pending set, else from the store.
    outcome<std::optional<transaction_record>> find_transaction(const uuid& user, const uuid& id,
                                                                const pending_transactions* pending) {
        if (pending != nullptr)
            if (auto it = pending->find(id); it != pending->end()) return std::optional{it->second};
        return read_transaction(user, id);
    }

    outcome<bool> has_children(const uuid& user, const uuid& id, const pending_transactions* pending = nullptr) {
        if (pending != nullptr) {
            for (const auto& [child, record] : *pending)
                if (record.parent == id) return true;
            // Created by this request: a stored transaction names only stored
            // parents, so none can be its child (and an iterator is costly).
            if (pending->contains(id)) return false;
        }
        auto prefix = keys::children_prefix(user, id);
        std::unique_ptr<rocksdb::Iterator> it(db().NewIterator(rocksdb::ReadOptions{}, handle->meta()));
        it->Seek(prefix);
        if (!it->status().ok()) return db_handle::read_error(it->status());
        return it->Valid() && it->key().starts_with(prefix);
    }

    // Writes are refused up front while the store refuses them (out of
    // space, or after a failure), even idempotent ones.
    outcome<void> check_writable() const { return handle->check_writable(); }

    // The user's own limit on stored chunk bytes; nullopt: the default.
    outcome<std::optional<std::uint64_t>> read_quota(const uuid& user) const;
    // The limit in force for the user (0: none).
    outcome<std::uint64_t> quota_in_force(const uuid& user) const;
    // The user's stored chunk bytes (the 'S' record).
    outcome<std::uint64_t> stored_bytes(const uuid& user) const;
    // Holds `new_bytes` against the user's limit for one write (nullopt when
    // nothing needs holding: no new bytes or no limit), or quota_exceeded.
    // The caller holds the user's data lock until the reservation is gone.
    outcome<std::optional<quota_reservations::reservation>> reserve_quota(const uuid& user, std::uint64_t new_bytes);

    error conflict(const head_state& h, std::string message) {
        auto e = make_error(errc::conflict, std::move(message));
        e.head = h.head;
        return e;
    }

    // The batch that moves HEAD from `h` to `target`, or the reason it may
    // not. Each newly committed transaction gets its chain entry, with the
    // commit time, and stops being uncommitted; one of `pending` (created by
    // the same request, with no uncommitted record) is added to `committed_now`.
    // The caller holds the user's HEAD mutex.
    outcome<void> plan_advance(const uuid& user, const head_state& h, const transaction_record& target,
                               rocksdb::WriteBatch& batch, const pending_transactions* pending = nullptr,
                               std::unordered_set<uuid, id_hash>* committed_now = nullptr) {
        if (target.seq <= h.seq) return conflict(h, "target is not a descendant of HEAD");
        auto committed = now();
        transaction_record cur = target;
        for (;;) {
            batch.Put(handle->meta(), keys::chain(user, cur.seq), keys::encode_chain_entry({cur.id, committed}));
            if (pending != nullptr && pending->contains(cur.id)) {
                if (committed_now != nullptr) committed_now->insert(cur.id);
            } else {
                batch.Delete(handle->meta(), keys::uncommitted(user, cur.id));
            }
            if (cur.seq == h.seq + 1) break;
            auto parent = find_transaction(user, cur.parent, pending);
            if (!parent) return parent.error();
            if (!*parent) return make_error(errc::internal, "transaction chain is broken");
            cur = std::move(**parent);
        }
        if (cur.parent != h.head) return conflict(h, "target is not a descendant of HEAD");
        locks.forget_head(user);  // until the batch is committed (user_locks.hpp)
        batch.Put(handle->meta(), keys::head(user), keys::encode_head({target.id, target.seq}));
        return {};
    }

    // The chunks of `ids` the user lacks, in order, without repeats.
    outcome<std::vector<digest>> missing_chunks(const uuid& user, std::span<const digest> ids);

    // Adds a chunk the user lacks to `batch` (the caller checked, holding
    // its stripe): `value` is its bytes or a reference to its file, `size`
    // its length.
    void add_chunk(const uuid& user, const digest& id, std::string_view value, std::uint64_t size,
                   rocksdb::WriteBatch& batch) {
        batch.Put(handle->chunks(), keys::chunk(user, id), value);
        batch.Put(handle->meta(), keys::chunk_size(user, id), keys::encode_chunk_meta({size, now()}));
        batch.Merge(handle->meta(), keys::stats(user), keys::encode_stats({1, static_cast<std::int64_t>(size)}));
    }

    // A chunk's bytes as `snap` sees them, read from its file when it has one.
    outcome<std::optional<std::string>> read_chunk(const uuid& user, const digest& id,
                                                   const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->chunks(), keys::chunk(user, id), snap);
        if (!value || !*value) return value;
        if (!snap && decode_chunk_file_ref(id, **value)) {
            // Its reference read again under a snapshot, which keeps the file
            // while it is read (a removal after the first read answers 404).
            rocksdb::ManagedSnapshot pinned(&db());
            return read_chunk(user, id, pinned.snapshot());
        }
        auto bytes = files->resolve(user, id, std::move(**value));
        if (!bytes) return bytes.error();
        return std::optional<std::string>{std::move(*bytes)};
    }

    // read_chunk() from memory only: a chunk in a file counts as on disk.
    outcome<cached_read<std::string>> read_chunk_cached(const uuid& user, const digest& id,
                                                        const rocksdb::Snapshot* snap = nullptr) {
        auto read = handle->get_cached(handle->chunks(), keys::chunk(user, id), snap);
        if (read && read->value && decode_chunk_file_ref(id, *read->value)) return cached_read<std::string>{true, {}};
        return read;
    }

    // A chunk the user has was sent again: its stored time starts anew (the
    // caller checked it is stored, holding its stripe).
    void refresh_chunk(const uuid& user, const digest& id, std::uint64_t size, rocksdb::WriteBatch& batch) {
        batch.Put(handle->meta(), keys::chunk_size(user, id), keys::encode_chunk_meta({size, now()}));
    }

    // Adds `delta` to the references of each distinct chunk of `chunks`.
    void add_references(const uuid& user, std::span<const digest> chunks, std::int64_t delta,
                        rocksdb::WriteBatch& batch) {
        std::unordered_set<digest, id_hash> seen;
        for (const auto& c : chunks)
            if (seen.insert(c).second)
                batch.Merge(handle->meta(), keys::references(user, c), keys::encode_references(delta));
    }

    // Adds a new chunk to `batch` unless the user has it (then refreshes
    // its stored time); true when added.
    outcome<bool> plan_chunk(const uuid& user, const digest& id, std::string_view value, std::uint64_t size,
                             rocksdb::WriteBatch& batch) {
        auto present = handle->get(handle->meta(), keys::chunk_size(user, id));
        if (!present) return present.error();
        if (*present) {
            refresh_chunk(user, id, size, batch);
            return false;
        }
        add_chunk(user, id, value, size, batch);
        return true;
    }

    // Checks a proposed transaction against the store (and the request's
    // pending transactions, and the chunks it stores or found stored:
    // `known_chunks`, whose stripes the caller holds) and adds it to `batch` when new
    // (or refreshes the stored time of an uncommitted one sent again).
    // `head`, when the caller holds the user's HEAD mutex and has read it,
    // spares the read of a parent that is HEAD.
    outcome<stored_transaction> plan_transaction(const uuid& user, const new_transaction& t,
                                                 const pending_transactions* pending,
                                                 const std::unordered_set<digest, id_hash>* known_chunks,
                                                 rocksdb::WriteBatch& batch, const head_state* head = nullptr);

    // The HEAD part of a publish, after its transactions are planned: a
    // re-send of a committed head (nothing to do), a conflict, or an advance
    // added to `batch` and recorded in `result` (whose `before` is set).
    outcome<void> plan_publish_head(const uuid& user, const uuid& target, const pending_transactions& pending,
                                    rocksdb::WriteBatch& batch, publish_result& result,
                                    std::unordered_set<uuid, id_hash>& committed_now);

    // Everything of a publish after its locks are taken: plans the request
    // on top of what `batch` already holds and reserves quota.
    outcome<planned_write<publish_result>> plan_publish(const uuid& user, const publish_request& request,
                                                        rocksdb::WriteBatch& batch);
    // plan_publish, then commits `batch` (unless it is empty).
    outcome<publish_result> apply_publish(const uuid& user, const publish_request& request,
                                          rocksdb::WriteBatch& batch);

    // Every id a publish relies on, as pipeline_write takes them: the
    // chunks it stores or re-sends, the transactions it creates, their
    // chunks and its head; and apart, the transactions' parents.
    static relied_ids ids_of(const publish_request& request);

    // The other writes of the commit pipeline, planned with their locks held.
    // `value`: the chunk's bytes or a reference to its file; `size`: its length.
    outcome<planned_write<insert_result>> plan_put_chunk(const uuid& user, const digest& id, std::string_view value,
                                                         std::uint64_t size, rocksdb::WriteBatch& batch);
    outcome<planned_write<stored_transaction>> plan_put_transaction(const uuid& user, const new_transaction& t,
                                                                    rocksdb::WriteBatch& batch);
    outcome<planned_write<head_state>> plan_advance_head(const uuid& user, const uuid& target, rocksdb::WriteBatch& batch);

    // Adds to `batch` the replacement of the snapshot in force (`current`)
    // by `record`, with their chunks' references.
    void plan_snapshot(const uuid& user, const std::optional<snapshot_record>& current, const snapshot_record& record,
                       rocksdb::WriteBatch& batch) {
        locks.forget_origin(user);  // the caller holds HEAD's mutex
        batch.Put(handle->meta(), keys::snapshot(user), keys::encode_snapshot(record));
        if (current) add_references(user, current->chunks, -1, batch);
        add_references(user, record.chunks, 1, batch);
    }

    // The urgency of a new snapshot, from what `snap` sees.
    outcome<snapshot_urgency> read_urgency(const uuid& user, const head_state& h,
                                           const std::optional<snapshot_record>& snapshot, std::uint64_t history_from,
                                           const rocksdb::Snapshot* snap);

    // The urgency of a new snapshot now, from one consistent read.
    outcome<snapshot_urgency> current_urgency(const uuid& user);
    // The urgency of a new snapshot once HEAD is `h`, for a caller that
    // holds the user's HEAD mutex: with no read when its origin is known
    // (user_locks). `h` may be a HEAD the caller is about to commit.
    outcome<snapshot_urgency> urgency_locked(const uuid& user, const head_state& h);
    // The origin as `snap` sees it: the snapshot's, or (without one) the
    // oldest commit past `history_from`'s; nullopt when there is neither.
    outcome<std::optional<urgency_origin>> read_urgency_origin(const uuid& user,
                                                               const std::optional<snapshot_record>& snapshot,
                                                               std::uint64_t history_from, const rocksdb::Snapshot* snap);
    snapshot_urgency urgency_from(const urgency_origin& origin, const head_state& h) const;

    // The store format: refuses a newer one, upgrades an older one (format.cpp).
    outcome<void> open_format(const std::function<void(std::string_view)>& log_info);
    outcome<void> record_format_3(const std::function<void(std::string_view)>& log_info);

    // The files of chunks whose removal was just committed and synced:
    // retired (chunk_files.hpp), and removed at once unless a snapshot from
    // before that removal is open.
    void retire_files(const uuid& user, const std::vector<std::pair<digest, std::uint64_t>>& removed) {
        auto after = db().GetLatestSequenceNumber();
        for (const auto& [id, number] : removed) files->retire({user, id, number}, after);
        remove_retired_files();
    }
    // Removes the retired files no open snapshot can read any more. A
    // failure is reported, not returned: the removal that retired them is
    // committed, and the sweep at the next open takes what is left.
    void remove_retired_files() {
        std::uint64_t oldest = 0;
        if (!db().GetIntProperty(rocksdb::DB::Properties::kOldestSnapshotSequence, &oldest)) return;
        if (auto r = files->remove_retired(oldest); !r)
            handle->report(r.error().message + " (the store removes it when it next opens)");
    }

    // Removes the chunk files nothing refers to (a crash between a file and
    // its reference, or a removal cut short); at open, before any write.
    outcome<void> sweep_chunk_files(const std::function<void(std::string_view)>& log_info);
};

}  // namespace chunklog::storage
