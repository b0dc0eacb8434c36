// log_store's snapshots (protocol section 8): one per user, the newest; the
// urgency of a new one; and the user overview that reports them.
#include "storage/rocksdb/log_store_impl.hpp"
#include "storage/rules.hpp"

#include <rocksdb/snapshot.h>

#include <algorithm>

namespace chunklog::storage {

outcome<std::optional<urgency_origin>> rocksdb_store::impl::read_urgency_origin(
    const uuid& user, const std::optional<snapshot_record>& snapshot, std::uint64_t history_from,
    const rocksdb::Snapshot* snap) {
    if (snapshot) return urgency_origin{snapshot->seq, snapshot->created};
    // Without a snapshot, the age counts from the first commit.
    auto first = read_chain(user, history_from + 1, snap);
    if (!first) return first.error();
    if (!*first) return std::optional<urgency_origin>{};
    return urgency_origin{0, (*first)->committed};
}

snapshot_urgency rocksdb_store::impl::urgency_from(const urgency_origin& origin, const head_state& h) const {
    if (h.seq <= origin.seq) return snapshot_urgency::none;  // nothing a new snapshot would add
    return rules::urgency(h.seq - origin.seq, now() - origin.since_ms, snapshot_after, snapshot_age);
}

outcome<snapshot_urgency> rocksdb_store::impl::read_urgency(const uuid& user, const head_state& h,
                                                        const std::optional<snapshot_record>& snapshot,
                                                        std::uint64_t history_from, const rocksdb::Snapshot* snap) {
    if (h.seq <= (snapshot ? snapshot->seq : 0)) return snapshot_urgency::none;
    auto origin = read_urgency_origin(user, snapshot, history_from, snap);
    if (!origin) return origin.error();
    if (!*origin) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
    return urgency_from(**origin, h);
}

outcome<snapshot_urgency> rocksdb_store::impl::urgency_locked(const uuid& user, const head_state& h) {
    if (auto known = locks.known_origin(user)) return urgency_from(*known, h);
    auto snapshot = read_snapshot(user);
    if (!snapshot) return snapshot.error();
    std::uint64_t history_from = 0;
    if (!*snapshot) {
        auto from = read_history_from(user);
        if (!from) return from.error();
        history_from = *from;
    }
    auto origin = read_urgency_origin(user, *snapshot, history_from, nullptr);
    if (!origin) return origin.error();
    // No commit yet: `h` is the first, about to be committed now (not
    // remembered, since the commit may still fail).
    if (!*origin) return urgency_from({history_from, now()}, h);
    locks.remember_origin(user, **origin);
    return urgency_from(**origin, h);
}

outcome<stored_snapshot> rocksdb_store::put_snapshot(const uuid& user, const uuid& id, std::span<const digest> chunks) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    if (id.is_root()) return make_error(errc::not_found, "ROOT is not a committed transaction");
    std::vector<std::string_view> ids;
    ids.reserve(chunks.size());
    for (const auto& c : chunks) ids.push_back(c.raw());
    // HEAD's mutex serializes the user's snapshot writes (compare, then replace).
    write_locks locks(impl_->locks, user, ids);
    locks.lock(true);

    auto t = impl_->read_transaction(user, id);
    if (!t) return t.error();
    auto committed = *t ? impl_->is_committed(user, **t, nullptr) : outcome<bool>(false);
    if (!committed) return committed.error();
    if (!*committed) return make_error(errc::not_found, "no committed transaction with this id");
    auto current = impl_->read_snapshot(user);
    if (!current) return current.error();
    if (*current && (*current)->seq >= (*t)->seq)
        return stored_snapshot{insert_result::already_present, {(*current)->transaction, (*current)->seq}};
    auto missing = impl_->missing_chunks(user, chunks);
    if (!missing) return missing.error();
    if (!missing->empty()) {
        auto e = make_error(errc::missing_chunks, "some chunks of the snapshot are not stored");
        e.missing = std::move(*missing);
        return e;
    }

    snapshot_record record{id, (*t)->seq, impl_->now(), {chunks.begin(), chunks.end()}};
    rocksdb::WriteBatch batch;
    impl_->plan_snapshot(user, *current, record, batch);
    if (auto c = impl_->handle->commit(batch); !c) return c.error();
    return stored_snapshot{insert_result::created, {record.transaction, record.seq}};
}

outcome<std::optional<snapshot_record>> rocksdb_store::snapshot(const uuid& user) const {
    return impl_->read_snapshot(user);
}

outcome<snapshot_urgency> rocksdb_store::urgency(const uuid& user) const { return impl_->current_urgency(user); }

outcome<snapshot_urgency> rocksdb_store::impl::current_urgency(const uuid& user) {
    rocksdb::ManagedSnapshot snap(&db());
    auto h = read_head(user, snap.snapshot());
    if (!h) return h.error();
    auto s = read_snapshot(user, snap.snapshot());
    if (!s) return s.error();
    auto truncated = read_history_from(user, snap.snapshot());
    if (!truncated) return truncated.error();
    return read_urgency(user, *h, *s, *truncated, snap.snapshot());
}

outcome<user_overview> rocksdb_store::overview(const uuid& user) const {
    rocksdb::ManagedSnapshot snap(&impl_->db());
    auto h = impl_->read_head(user, snap.snapshot());
    if (!h) return h.error();
    auto stats = impl_->handle->get(impl_->handle->meta(), keys::stats(user), snap.snapshot());
    if (!stats) return stats.error();
    auto truncated = impl_->read_history_from(user, snap.snapshot());
    if (!truncated) return truncated.error();
    auto s = impl_->read_snapshot(user, snap.snapshot());
    if (!s) return s.error();
    auto urgency = impl_->read_urgency(user, *h, *s, *truncated, snap.snapshot());
    if (!urgency) return urgency.error();
    auto counts = *stats ? keys::decode_stats(**stats) : keys::chunk_stats{};
    user_overview out;
    out.summary = {*h, h->seq - std::min(h->seq, *truncated), static_cast<std::uint64_t>(counts.count),
                   static_cast<std::uint64_t>(counts.bytes)};
    if (*s) out.snapshot = snapshot_ref{(*s)->transaction, (*s)->seq};
    out.urgency = *urgency;
    out.history_from = *truncated;
    return out;
}

}  // namespace chunklog::storage
