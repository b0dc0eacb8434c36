// log_store's TaskChampion versions (protocol section 12): a version is a
// committed transaction holding exactly one chunk, added by a compare-and-
// swap on HEAD; the first version of a user may carry an origin parent; the
// snapshot holds one chunk and follows TaskChampion's acceptance rule.
#include "storage/rocksdb/log_store_impl.hpp"
#include "storage/rules.hpp"

#include <rocksdb/snapshot.h>

namespace chunklog::storage {
namespace {

// The committed child of `parent` as `snap` sees it, where HEAD is not
// ROOT and not `parent`: nullopt when there is none to answer.
outcome<std::optional<uuid>> child_id(rocksdb_store::impl& s, const uuid& user, const uuid& parent,
                                      const rocksdb::Snapshot* snap) {
    auto origin = s.read_origin(user, snap);
    if (!origin) return origin.error();
    if (parent.is_root()) {
        // Sealed with its origin parent, the first version is not nil's child.
        auto first = s.read_chain(user, 1, snap);
        if (!first) return first.error();
        if (!*first || *origin) return std::optional<uuid>{};
        return std::optional<uuid>{(*first)->id};
    }
    auto t = s.read_transaction(user, parent, snap);
    if (!t) return t.error();
    auto committed = *t ? s.is_committed(user, **t, snap) : outcome<bool>(false);
    if (!committed) return committed.error();
    if (!*committed) {
        if (*origin && (*origin)->parent == parent) return std::optional<uuid>{(*origin)->version};
        return std::optional<uuid>{};
    }
    auto next = s.read_chain(user, (*t)->seq + 1, snap);
    if (!next) return next.error();
    if (!*next) return std::optional<uuid>{};
    return std::optional<uuid>{(*next)->id};
}

}  // namespace

outcome<publish_result> rocksdb_store::add_version(const uuid& user, const new_version& v) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    // The ids publish would lock for this request: HEAD (the new parent) is
    // v.parent or ROOT, which is never locked.
    std::vector<std::string_view> ids{v.chunk.raw(), v.id.raw()};
    if (!v.parent.is_root()) ids.push_back(v.parent.raw());
    write_locks locks(impl_->locks, user, ids);
    locks.lock(true);

    auto h = impl_->read_head(user);
    if (!h) return h.error();
    bool first = h->head.is_root();
    if (!first && h->head != v.parent) return impl_->conflict(*h, "the parent version is not the latest one");
    publish_request request{{{v.chunk, std::string(v.bytes)}}, {{v.id, h->head, std::nullopt, {v.chunk}}}, v.id};
    rocksdb::WriteBatch batch;
    if (first && !v.parent.is_root())
        batch.Put(impl_->handle->meta(), keys::origin(user), keys::encode_origin({v.parent, v.id}));
    return impl_->apply_publish(user, request, batch);
}

outcome<child_version> rocksdb_store::find_child_version(const uuid& user, const uuid& parent) const {
    rocksdb::ManagedSnapshot snapshot(&impl_->db());
    auto* snap = snapshot.snapshot();
    auto h = impl_->read_head(user, snap);
    if (!h) return h.error();
    child_version out;
    if (h->head.is_root() || h->head == parent) {
        out.outcome = child_version::status::up_to_date;
        return out;
    }
    auto child = child_id(*impl_, user, parent, snap);
    if (!child) return child.error();
    if (!*child) return out;
    auto t = impl_->read_transaction(user, **child, snap);
    if (!t) return t.error();
    if (!*t) return make_error(errc::internal, "committed transaction record is missing");
    if ((*t)->chunks.size() != 1) return out;
    auto bytes = impl_->read_chunk(user, (*t)->chunks.front(), snap);
    if (!bytes) return bytes.error();
    if (!*bytes) return make_error(errc::internal, "a committed transaction's chunk is missing");
    out.outcome = child_version::status::found;
    out.id = **child;
    out.bytes = std::move(**bytes);
    return out;
}

outcome<bool> rocksdb_store::put_version_snapshot(const uuid& user, const uuid& version, const digest& chunk,
                                              std::string_view bytes) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    if (version.is_root()) return false;
    // HEAD's mutex serializes the user's snapshot writes (compare, then replace).
    write_locks locks(impl_->locks, user, {chunk.raw(), version.raw()});
    locks.lock(true);

    auto h = impl_->read_head(user);
    if (!h) return h.error();
    auto t = impl_->read_transaction(user, version);
    if (!t) return t.error();
    auto committed = *t ? impl_->is_committed(user, **t, nullptr) : outcome<bool>(false);
    if (!committed) return committed.error();
    if (!*committed || (*t)->seq + rules::version_snapshot_depth < h->seq) return false;
    auto current = impl_->read_snapshot(user);
    if (!current) return current.error();
    if (*current && (*current)->seq >= (*t)->seq) return false;

    rocksdb::WriteBatch batch;
    auto added = impl_->plan_chunk(user, chunk, bytes, bytes.size(), batch);
    if (!added) return added.error();
    impl_->plan_snapshot(user, *current, {version, (*t)->seq, impl_->now(), {chunk}}, batch);
    auto quota = impl_->reserve_quota(user, *added ? bytes.size() : 0);
    if (!quota) return quota.error();
    if (auto c = impl_->handle->commit(batch); !c) return c.error();
    if (*quota) (*quota)->committed();
    return true;
}

outcome<std::optional<version_snapshot>> rocksdb_store::find_version_snapshot(const uuid& user) const {
    rocksdb::ManagedSnapshot snapshot(&impl_->db());
    auto s = impl_->read_snapshot(user, snapshot.snapshot());
    if (!s) return s.error();
    if (!*s || (*s)->chunks.size() != 1) return std::optional<version_snapshot>{};
    auto bytes = impl_->read_chunk(user, (*s)->chunks.front(), snapshot.snapshot());
    if (!bytes) return bytes.error();
    if (!*bytes) return make_error(errc::internal, "the snapshot's chunk is missing");
    return std::optional<version_snapshot>{version_snapshot{(*s)->transaction, std::move(**bytes)}};
}

outcome<std::optional<uuid>> rocksdb_store::origin_parent(const uuid& user, const uuid& id) const {
    auto origin = impl_->read_origin(user);
    if (!origin) return origin.error();
    if (!*origin || (*origin)->version != id) return std::optional<uuid>{};
    return std::optional<uuid>{(*origin)->parent};
}

}  // namespace chunklog::storage
