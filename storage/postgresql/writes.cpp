// postgresql_store's writes: chunks, transactions, HEAD, publish, snapshots
// and delete_user. Each is one database transaction that locks the user's
// row first (store_impl.hpp).
#include "storage/postgresql/store_impl.hpp"

#include <algorithm>

namespace chunklog::storage {

using pg::params;

outcome<std::uint64_t> postgresql_store::impl::quota_in_force(pg::connection& c, const uuid& user) {
    auto own = pg::read_quota(c, user);
    if (!own) return own.error();
    return own->value_or(default_quota);
}

outcome<void> postgresql_store::impl::check_quota(pg::connection& c, const uuid& user, const pg::user_row& row,
                                                  std::uint64_t new_bytes) {
    if (new_bytes == 0) return {};
    auto limit = row.quota_read ? outcome<std::uint64_t>(row.own_quota ? static_cast<std::uint64_t>(*row.own_quota)
                                                                       : default_quota)
                                : quota_in_force(c, user);
    if (!limit) return limit.error();
    if (*limit == 0) return {};
    auto stored = static_cast<std::uint64_t>(std::max<std::int64_t>(row.chunk_bytes, 0));
    if (stored <= *limit && new_bytes <= *limit - stored) return {};
    return make_error(errc::quota_exceeded, "the user's quota of " + std::to_string(*limit) +
                                                " bytes would be exceeded: " + std::to_string(stored) +
                                                " bytes are stored, and this request adds " +
                                                std::to_string(new_bytes) + " new bytes");
}

outcome<bool> postgresql_store::impl::store_chunk(pg::connection& c, const uuid& user, const digest& id,
                                                  std::string_view bytes) {
    // Stored, or (sent again) its stored time refreshed; xmax is 0 on a row
    // this transaction inserted. The user's row is locked: nothing else
    // inserts or removes this chunk meanwhile.
    auto r = c.run("INSERT INTO chunklog_chunks (user_id, id, size, stored, bytes) VALUES ($1, $2, $3, $4, $5) "
                   "ON CONFLICT (user_id, id) DO UPDATE SET stored = EXCLUDED.stored RETURNING xmax = 0",
                   params().add(user).add(id).add(static_cast<std::int64_t>(bytes.size())).add(now()).add_bytes(bytes));
    if (!r) return r.error();
    return r->boolean(0, 0);
}

namespace {

outcome<void> add_to_counters(pg::connection& c, const uuid& user, std::int64_t count, std::int64_t bytes) {
    if (count == 0 && bytes == 0) return {};
    auto r = c.run("UPDATE chunklog_users SET chunk_count = chunk_count + $2, chunk_bytes = chunk_bytes + $3 "
                   "WHERE user_id = $1",
                   params().add(user).add(count).add(bytes));
    if (!r) return r.error();
    return {};
}

outcome<std::optional<transaction_record>> find_transaction(pg::connection& c, const uuid& user, const uuid& id,
                                                            const pg::pending_transactions* pending) {
    if (pending != nullptr)
        if (auto it = pending->find(id); it != pending->end()) return std::optional{it->second};
    auto t = pg::read_transaction(c, user, id);
    if (!t) return t.error();
    if (!*t) return std::optional<transaction_record>{};
    return std::optional{std::move((*t)->record)};
}

// The transaction `id` and its parent (when not ROOT) into `self` and
// `up`, from the request's pending set or else from the database, in one read.
outcome<void> find_with_parent(pg::connection& c, const uuid& user, const uuid& id, const uuid& parent,
                               const pg::pending_transactions* pending, std::optional<transaction_record>& self,
                               std::optional<transaction_record>& up) {
    if (pending != nullptr) {
        if (auto it = pending->find(id); it != pending->end()) self = it->second;
        if (auto it = pending->find(parent); it != pending->end()) up = it->second;
    }
    bool need_id = !self, need_parent = !parent.is_root() && !up;
    if (!need_id && !need_parent) return {};
    auto r = c.run("SELECT id, parent, seq, chunks FROM chunklog_transactions WHERE user_id = $1 AND id IN ($2, $3)",
                   params().add(user).add(need_id ? id : parent).add(need_parent ? parent : id));
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
        auto found = r->id(i, 0);
        auto p = r->id(i, 1);
        auto chunks = pg::split_digests(r->bytes(i, 3));
        if (!found || !p || !chunks) return make_error(errc::internal, "corrupt transaction record");
        transaction_record t{*found, *p, static_cast<std::uint64_t>(r->i64(i, 2)), std::move(*chunks)};
        if (*found == id && need_id) self = t;
        if (*found == parent && need_parent) up = std::move(t);
    }
    return {};
}

// Adds a reference to each distinct chunk of `chunks`; returns those not
// stored (in order, without repeats), whose references the caller's
// rollback undoes.
outcome<std::vector<digest>> reference_chunks(pg::connection& c, const uuid& user, std::span<const digest> chunks) {
    return pg::not_found_by(c,
                            "UPDATE chunklog_chunks SET refs = refs + 1 WHERE user_id = $1 AND id IN "
                            "(SELECT substring($2 FROM i * 32 + 1 FOR 32) FROM generate_series(0, length($2) / 32 - 1) AS i) "
                            "RETURNING id",
                            user, chunks);
}

}  // namespace

outcome<stored_transaction> postgresql_store::impl::plan_transaction(pg::connection& c, const uuid& user,
                                                                     const new_transaction& t,
                                                                     const pg::pending_transactions* pending) {
    if (t.id.is_root()) return make_error(errc::bad_request, "ROOT cannot be created");
    if (t.parent == t.id) return make_error(errc::bad_request, "a transaction cannot be its own parent");
    std::optional<transaction_record> existing, parent;
    if (auto found = find_with_parent(c, user, t.id, t.parent, pending, existing, parent); !found)
        return found.error();
    if (existing) {
        const auto& e = *existing;
        if (e.parent != t.parent || e.chunks != t.chunks)
            return make_error(errc::transaction_exists, "a different transaction with this id exists");
        if (t.seq && *t.seq != e.seq) return make_error(errc::bad_request, "seq must be parent.seq + 1");
        if (pending == nullptr || !pending->contains(t.id)) {
            // Sent again while not committed: its stored time starts anew.
            auto r = c.run("UPDATE chunklog_transactions SET stored = $3 "
                           "WHERE user_id = $1 AND id = $2 AND committed IS NULL",
                           params().add(user).add(t.id).add(now()));
            if (!r) return r.error();
        }
        return stored_transaction{insert_result::already_present, std::move(*existing)};
    }

    std::uint64_t parent_seq = 0;
    if (!t.parent.is_root()) {
        if (!parent) return make_error(errc::unknown_parent, "the parent transaction does not exist");
        parent_seq = parent->seq;
    }
    if (t.seq && *t.seq != parent_seq + 1) return make_error(errc::bad_request, "seq must be parent.seq + 1");

    // Chunks stored earlier in this request are visible here already.
    auto missing = reference_chunks(c, user, t.chunks);
    if (!missing) return missing.error();
    if (!missing->empty()) {
        auto e = make_error(errc::missing_chunks, "some referenced chunks are not stored");
        e.missing = std::move(*missing);
        return e;
    }

    transaction_record record{t.id, t.parent, parent_seq + 1, t.chunks};
    auto r = c.run("INSERT INTO chunklog_transactions (user_id, id, parent, seq, chunks, stored) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   params().add(user).add(t.id).add(t.parent).add(record.seq).add_bytes(pg::join_ids(t.chunks)).add(now()));
    if (!r) return r.error();
    return stored_transaction{insert_result::created, std::move(record)};
}

outcome<void> postgresql_store::impl::advance(pg::connection& c, const uuid& user, const head_state& h,
                                              const transaction_record& target,
                                              const pg::pending_transactions* pending) {
    if (target.seq <= h.seq) return pg::conflict(h, "target is not a descendant of HEAD");
    std::vector<uuid> committing;
    transaction_record cur = target;
    for (;;) {
        committing.push_back(cur.id);
        if (cur.seq == h.seq + 1) break;
        auto parent = find_transaction(c, user, cur.parent, pending);
        if (!parent) return parent.error();
        if (!*parent) return make_error(errc::internal, "transaction chain is broken");
        cur = std::move(**parent);
    }
    if (cur.parent != h.head) return pg::conflict(h, "target is not a descendant of HEAD");
    auto r = c.run("UPDATE chunklog_transactions SET committed = $3 WHERE user_id = $1 AND id IN "
                   "(SELECT encode(substring($2 FROM i * 16 + 1 FOR 16), 'hex')::uuid "
                   " FROM generate_series(0, length($2) / 16 - 1) AS i)",
                   params().add(user).add_bytes(pg::join_ids(committing)).add(now()));
    if (!r) return r.error();
    if (r->affected() != committing.size()) return make_error(errc::internal, "transaction chain is broken");
    // To every node's listener once this transaction has committed.
    c.notify_after_commit("chunklog_head", user.to_string());
    return {};
}

outcome<publish_result> postgresql_store::impl::apply_publish(pg::connection& c, const uuid& user, pg::user_row& row,
                                                              const publish_request& request) {
    publish_result result;
    result.before = result.after = row.head;
    bool wrote = false;
    std::unordered_set<digest, id_hash> done;
    for (const auto& [id, bytes] : request.chunks) {
        if (!done.insert(id).second) continue;  // a repeat
        auto added = store_chunk(c, user, id, bytes);
        if (!added) return added.error();
        wrote = true;
        if (!*added) continue;  // re-sent: its stored time was refreshed
        ++result.chunks_created;
        result.chunk_bytes_created += bytes.size();
    }

    pg::pending_transactions pending;
    for (const auto& t : request.transactions) {
        auto planned = plan_transaction(c, user, t, &pending);
        if (!planned) return planned.error();
        wrote = true;
        if (planned->result != insert_result::created) continue;
        pending.emplace(t.id, std::move(planned->record));
        ++result.transactions_created;
    }

    if (request.head) {
        const auto& target_id = *request.head;
        const auto& h = result.before;
        auto target = find_transaction(c, user, target_id, &pending);
        if (!target) return target.error();
        bool committed = target_id == h.head;
        if (!committed && !target_id.is_root() && *target && !pending.contains(target_id)) {
            auto stored = pg::read_transaction(c, user, target_id);
            if (!stored) return stored.error();
            committed = *stored && (*stored)->committed.has_value();
        }
        if (committed) {
            if (result.transactions_created != 0)
                return pg::conflict(h, "`head` is already committed, but the request has new transactions");
        } else {
            if (target_id.is_root()) return pg::conflict(h, "HEAD cannot move back to ROOT");
            if (!*target) return make_error(errc::unknown_transaction, "the head transaction does not exist");
            // A transaction this request created has no children but the request's own.
            auto children = pending.contains(target_id)
                                ? outcome<bool>(std::any_of(pending.begin(), pending.end(),
                                                            [&](const auto& p) { return p.second.parent == target_id; }))
                                : pg::has_children(c, user, target_id);
            if (!children) return children.error();
            if (*children) return pg::conflict(h, "the transaction has children");
            if (auto a = advance(c, user, h, **target, &pending); !a) return a.error();
            result.after = head_state{target_id, (*target)->seq};
            result.head_advanced = true;
        }
    }
    if (auto q = check_quota(c, user, row, result.chunk_bytes_created); !q) return q.error();
    if (result.head_advanced || result.chunks_created != 0) {
        auto r = c.run("UPDATE chunklog_users SET head = $2, head_seq = $3, chunk_count = chunk_count + $4, "
                       "chunk_bytes = chunk_bytes + $5 WHERE user_id = $1",
                       params().add(user).add(result.after.head).add(result.after.seq)
                           .add(static_cast<std::int64_t>(result.chunks_created))
                           .add(static_cast<std::int64_t>(result.chunk_bytes_created)));
        if (!r) return r.error();
    }
    if (!wrote && !result.head_advanced)
        if (auto f = pg::forget_if_unused(c, user, row); !f) return f.error();
    return result;
}

outcome<insert_result> postgresql_store::put_chunk(const uuid& user, const digest& id, std::string_view bytes) {
    return impl_->write([&](pg::connection& c) -> outcome<insert_result> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        auto added = impl_->store_chunk(c, user, id, bytes);
        if (!added) return added.error();
        if (!*added) return insert_result::already_present;
        if (auto q = impl_->check_quota(c, user, *row, bytes.size()); !q) return q.error();
        if (auto n = add_to_counters(c, user, 1, static_cast<std::int64_t>(bytes.size())); !n) return n.error();
        return insert_result::created;
    });
}

outcome<stored_transaction> postgresql_store::put_transaction(const uuid& user, const new_transaction& t) {
    return impl_->write([&](pg::connection& c) -> outcome<stored_transaction> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        return impl_->plan_transaction(c, user, t, nullptr);
    });
}

outcome<head_state> postgresql_store::advance_head(const uuid& user, const uuid& target) {
    return impl_->write([&](pg::connection& c) -> outcome<head_state> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        const auto h = row->head;
        if (target == h.head) {
            if (auto f = pg::forget_if_unused(c, user, *row); !f) return f.error();
            return h;
        }
        if (target.is_root()) return pg::conflict(h, "HEAD cannot move back to ROOT");
        auto t = pg::read_transaction(c, user, target);
        if (!t) return t.error();
        if (!*t) return make_error(errc::unknown_transaction, "the transaction does not exist");
        auto children = pg::has_children(c, user, target);
        if (!children) return children.error();
        if (*children) return pg::conflict(h, "the transaction has children");
        if (auto a = impl_->advance(c, user, h, (*t)->record, nullptr); !a) return a.error();
        auto moved = c.run("UPDATE chunklog_users SET head = $2, head_seq = $3 WHERE user_id = $1",
                           params().add(user).add(target).add((*t)->record.seq));
        if (!moved) return moved.error();
        return head_state{target, (*t)->record.seq};
    });
}

outcome<publish_result> postgresql_store::publish(const uuid& user, const publish_request& request) {
    auto one = impl_->publish_one(user, request);
    if (!one) return one.error();
    if (*one) return std::move(**one);
    return impl_->write([&](pg::connection& c) -> outcome<publish_result> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        return impl_->apply_publish(c, user, *row, request);
    });
}

outcome<void> postgresql_store::impl::write_snapshot(pg::connection& c, const uuid& user, const pg::user_row& row,
                                                     const snapshot_record& record) {
    auto r = c.run("UPDATE chunklog_users SET snapshot_transaction = $2, snapshot_seq = $3, snapshot_created = $4, "
                   "snapshot_chunks = $5 WHERE user_id = $1",
                   params().add(user).add(record.transaction).add(record.seq).add(record.created)
                       .add_bytes(pg::join_ids(record.chunks)));
    if (!r) return r.error();
    if (row.snapshot)
        if (auto refs = pg::add_references(c, user, row.snapshot->chunks, -1); !refs) return refs;
    return pg::add_references(c, user, record.chunks, 1);
}

outcome<stored_snapshot> postgresql_store::put_snapshot(const uuid& user, const uuid& id,
                                                        std::span<const digest> chunks) {
    if (id.is_root()) return make_error(errc::not_found, "ROOT is not a committed transaction");
    return impl_->write([&](pg::connection& c) -> outcome<stored_snapshot> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        auto t = pg::read_transaction(c, user, id);
        if (!t) return t.error();
        if (!*t || !(*t)->committed) return make_error(errc::not_found, "no committed transaction with this id");
        const auto& current = row->snapshot;
        if (current && current->seq >= (*t)->record.seq)
            return stored_snapshot{insert_result::already_present, {current->transaction, current->seq}};
        auto missing = pg::missing_chunks(c, user, chunks);
        if (!missing) return missing.error();
        if (!missing->empty()) {
            auto e = make_error(errc::missing_chunks, "some chunks of the snapshot are not stored");
            e.missing = std::move(*missing);
            return e;
        }
        snapshot_record record{id, (*t)->record.seq, impl_->now(), {chunks.begin(), chunks.end()}};
        if (auto w = impl_->write_snapshot(c, user, *row, record); !w) return w.error();
        return stored_snapshot{insert_result::created, {record.transaction, record.seq}};
    });
}

outcome<void> postgresql_store::delete_user(const uuid& user) {
    return impl_->write([&](pg::connection& c) -> outcome<void> {
        auto row = pg::lock_user(c, user);
        if (!row) return row.error();
        for (const char* sql : {"DELETE FROM chunklog_transactions WHERE user_id = $1",
                                "DELETE FROM chunklog_chunks WHERE user_id = $1",
                                "DELETE FROM chunklog_users WHERE user_id = $1"})
            if (auto r = c.run(sql, params().add(user)); !r) return r.error();
        if (!row->created) c.notify_after_commit("chunklog_head", user.to_string());
        return {};
    });
}

}  // namespace chunklog::storage
