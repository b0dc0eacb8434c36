// log_store's internals, shared by its translation units: the RocksDB
// handle, the lock tables, the quota reservations, and the read and
// planning steps that the public operations are built from. Thread-safe
// like log_store itself; the planning helpers expect the caller to hold the
// locks the operation needs.
#pragma once

#include "storage/db_handle.hpp"
#include "storage/keys.hpp"
#include "storage/quota.hpp"
#include "storage/user_locks.hpp"

#include <chunklog/storage/log_store.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace chunklog::storage {

// Transactions created earlier in the same (not yet written) request.
using pending_transactions = std::unordered_map<uuid, transaction_record, id_hash>;

struct log_store::impl {
    std::unique_ptr<db_handle> handle;
    user_locks locks;
    std::atomic<int> open_cursors{0};  // a cursor must not outlive the store
    std::uint64_t default_quota = 0;
    quota_reservations quotas;
    std::mutex token_writes;  // serializes token creation and revocation (both rare)

    rocksdb::DB& db() { return handle->db(); }

    outcome<head_state> read_head(const uuid& user, const rocksdb::Snapshot* snap = nullptr) {
        auto value = handle->get(handle->meta(), keys::head(user), snap);
        if (!value) return value.error();
        if (!*value) return head_state{};
        auto h = keys::decode_head(**value);
        if (!h) return make_error(errc::internal, "corrupt HEAD record");
        return *h;
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

    // True when `t` is on the committed chain as seen by `snap`.
    outcome<bool> is_committed(const uuid& user, const transaction_record& t, const rocksdb::Snapshot* snap) {
        auto at_seq = handle->get(handle->meta(), keys::chain(user, t.seq), snap);
        if (!at_seq) return at_seq.error();
        return *at_seq && **at_seq == t.id.raw();
    }

    // The seq of `from` when it is ROOT or committed as seen by `snap`; else not_found.
    outcome<std::uint64_t> committed_seq(const uuid& user, const uuid& from, const rocksdb::Snapshot* snap) {
        if (from.is_root()) return std::uint64_t{0};
        auto t = read_transaction(user, from, snap);
        if (!t) return t.error();
        auto committed = *t ? is_committed(user, **t, snap) : outcome<bool>(false);
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

    // The batch that moves HEAD from `h` to `target`, or the reason it may not.
    outcome<void> plan_advance(const uuid& user, const head_state& h, const transaction_record& target,
                               rocksdb::WriteBatch& batch, const pending_transactions* pending = nullptr) {
        if (target.seq <= h.seq) return conflict(h, "target is not a descendant of HEAD");
        transaction_record cur = target;
        for (;;) {
            batch.Put(handle->meta(), keys::chain(user, cur.seq), cur.id.raw());
            if (cur.seq == h.seq + 1) break;
            auto parent = find_transaction(user, cur.parent, pending);
            if (!parent) return parent.error();
            if (!*parent) return make_error(errc::internal, "transaction chain is broken");
            cur = std::move(**parent);
        }
        if (cur.parent != h.head) return conflict(h, "target is not a descendant of HEAD");
        batch.Put(handle->meta(), keys::head(user), keys::encode_head({target.id, target.seq}));
        return {};
    }

    // The chunks of `ids` the user lacks, in order, without repeats.
    outcome<std::vector<digest>> missing_chunks(const uuid& user, std::span<const digest> ids);

    // Adds a chunk the user lacks to `batch` (the caller checked, holding its stripe).
    void add_chunk(const uuid& user, const digest& id, std::string_view bytes, rocksdb::WriteBatch& batch) {
        std::string size_value;
        keys::put_be64(size_value, bytes.size());
        batch.Put(handle->chunks(), keys::chunk(user, id), bytes);
        batch.Put(handle->meta(), keys::chunk_size(user, id), size_value);
        batch.Merge(handle->meta(), keys::stats(user), keys::encode_stats({1, static_cast<std::int64_t>(bytes.size())}));
    }

    // Adds a new chunk to `batch` unless the user has it; true when added.
    outcome<bool> plan_chunk(const uuid& user, const digest& id, std::string_view bytes, rocksdb::WriteBatch& batch) {
        auto present = handle->get(handle->meta(), keys::chunk_size(user, id));
        if (!present) return present.error();
        if (*present) return false;
        add_chunk(user, id, bytes, batch);
        return true;
    }

    // Checks a proposed transaction against the store (and the request's
    // pending transactions and new chunks) and adds it to `batch` when new.
    outcome<stored_transaction> plan_transaction(const uuid& user, const new_transaction& t,
                                                 const pending_transactions* pending,
                                                 const std::unordered_set<digest, id_hash>* new_chunks,
                                                 rocksdb::WriteBatch& batch);

    // The HEAD part of a publish, after its transactions are planned: a
    // re-send of a committed head (nothing to do), a conflict, or an advance
    // added to `batch` and recorded in `result` (whose `before` is set).
    outcome<void> plan_publish_head(const uuid& user, const uuid& target, const pending_transactions& pending,
                                    rocksdb::WriteBatch& batch, publish_result& result);
};

}  // namespace chunklog::storage
