// postgresql_store's TaskChampion versions (protocol section 12), the same
// rules as rocksdb_store's (storage/rocksdb/versions.cpp).
#include "storage/postgresql/store_impl.hpp"
#include "storage/rules.hpp"

namespace chunklog::storage {

using pg::params;

namespace {

outcome<std::optional<std::string>> chunk_bytes(pg::connection& c, const uuid& user, const digest& id) {
    auto r = c.run("SELECT bytes FROM chunklog_chunks WHERE user_id = $1 AND id = $2", params().add(user).add(id));
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<std::string>{};
    return std::optional<std::string>{r->text(0, 0)};
}

// The committed child of `parent`, where HEAD is not ROOT and not `parent`.
outcome<std::optional<uuid>> child_id(pg::connection& c, const uuid& user, const pg::user_row& row,
                                      const uuid& parent) {
    auto origin = pg::origin_of(c, user, row);
    if (!origin) return origin.error();
    if (parent.is_root()) {
        // Sealed with its origin parent, the first version is not nil's child.
        auto first = pg::chain_at(c, user, 1);
        if (!first) return first.error();
        if (!*first || *origin) return std::optional<uuid>{};
        return std::optional<uuid>{(*first)->first};
    }
    auto t = pg::read_transaction(c, user, parent);
    if (!t) return t.error();
    if (!*t || !(*t)->committed) {
        if (*origin && (*origin)->first == parent) return std::optional<uuid>{(*origin)->second};
        return std::optional<uuid>{};
    }
    auto next = pg::chain_at(c, user, (*t)->record.seq + 1);
    if (!next) return next.error();
    if (!*next) return std::optional<uuid>{};
    return std::optional<uuid>{(*next)->first};
}

}  // namespace

outcome<publish_result> postgresql_store::add_version(const uuid& user, const new_version& v) {
    return impl_->write([&](pg::connection& c) -> outcome<publish_result> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        const auto& h = row->head;
        bool first = h.head.is_root();
        if (!first && h.head != v.parent) return pg::conflict(h, "the parent version is not the latest one");
        publish_request request{{{v.chunk, std::string(v.bytes)}}, {{v.id, h.head, std::nullopt, {v.chunk}}}, v.id};
        if (first && !v.parent.is_root()) {
            auto r = c.run("UPDATE chunklog_users SET origin_parent = $2, origin_version = $3 WHERE user_id = $1",
                           params().add(user).add(v.parent).add(v.id));
            if (!r) return r.error();
        }
        return impl_->apply_publish(c, user, *row, request);
    });
}

outcome<child_version> postgresql_store::find_child_version(const uuid& user, const uuid& parent) const {
    return impl_->read([&](pg::connection& c) -> outcome<child_version> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        child_version out;
        if (row->head.head.is_root() || row->head.head == parent) {
            out.outcome = child_version::status::up_to_date;
            return out;
        }
        auto child = child_id(c, user, *row, parent);
        if (!child) return child.error();
        if (!*child) return out;
        auto t = pg::read_transaction(c, user, **child);
        if (!t) return t.error();
        if (!*t) return make_error(errc::internal, "committed transaction record is missing");
        if ((*t)->record.chunks.size() != 1) return out;
        auto bytes = chunk_bytes(c, user, (*t)->record.chunks.front());
        if (!bytes) return bytes.error();
        if (!*bytes) return make_error(errc::internal, "a committed transaction's chunk is missing");
        out.outcome = child_version::status::found;
        out.id = **child;
        out.bytes = std::move(**bytes);
        return out;
    });
}

outcome<bool> postgresql_store::put_version_snapshot(const uuid& user, const uuid& version, const digest& chunk,
                                                     std::string_view bytes) {
    if (version.is_root()) return false;
    return impl_->write([&](pg::connection& c) -> outcome<bool> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        auto ignored = [&]() -> outcome<bool> {
            if (auto f = pg::forget_if_unused(c, user, *row); !f) return f.error();
            return false;
        };
        auto t = pg::read_transaction(c, user, version);
        if (!t) return t.error();
        if (!*t || !(*t)->committed || (*t)->record.seq + rules::version_snapshot_depth < row->head.seq) return ignored();
        if (row->snapshot && row->snapshot->seq >= (*t)->record.seq) return ignored();
        auto added = impl_->store_chunk(c, user, chunk, bytes);
        if (!added) return added.error();
        if (*added) {
            if (auto q = impl_->check_quota(c, user, *row, bytes.size()); !q) return q.error();
            auto n = c.run("UPDATE chunklog_users SET chunk_count = chunk_count + 1, chunk_bytes = chunk_bytes + $2 "
                           "WHERE user_id = $1",
                           params().add(user).add(static_cast<std::int64_t>(bytes.size())));
            if (!n) return n.error();
        }
        snapshot_record record{version, (*t)->record.seq, impl_->now(), {chunk}};
        if (auto w = impl_->write_snapshot(c, user, *row, record); !w) return w.error();
        return true;
    });
}

outcome<std::optional<version_snapshot>> postgresql_store::find_version_snapshot(const uuid& user) const {
    return impl_->read([&](pg::connection& c) -> outcome<std::optional<version_snapshot>> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        const auto& s = row->snapshot;
        if (!s || s->chunks.size() != 1) return std::optional<version_snapshot>{};
        auto bytes = chunk_bytes(c, user, s->chunks.front());
        if (!bytes) return bytes.error();
        if (!*bytes) return make_error(errc::internal, "the snapshot's chunk is missing");
        return std::optional<version_snapshot>{version_snapshot{s->transaction, std::move(**bytes)}};
    });
}

outcome<std::optional<uuid>> postgresql_store::origin_parent(const uuid& user, const uuid& id) const {
    return impl_->read([&](pg::connection& c) -> outcome<std::optional<uuid>> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        auto origin = pg::origin_of(c, user, *row);
        if (!origin) return origin.error();
        if (!*origin || (*origin)->second != id) return std::optional<uuid>{};
        return std::optional<uuid>{(*origin)->first};
    });
}

}  // namespace chunklog::storage
