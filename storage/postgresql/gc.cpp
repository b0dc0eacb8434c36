// postgresql_store::collect_garbage: garbage collection and history
// truncation (protocol section 9) with rocksdb_store's rules
// (storage/rocksdb/gc.cpp), one pass at a time across every node: a pass
// holds a session advisory lock on a connection of its own. Each batch is
// one transaction that locks its user's row, so it is ordered with the
// user's writes: a write sees the removal and fails, or the batch sees what
// the write added (a child, a reference, a refreshed time) and keeps the
// record. Between batches the pass rests as store_options::gc_duty says.
#include "storage/postgresql/schema.hpp"
#include "storage/postgresql/store_impl.hpp"
#include "storage/rules.hpp"


namespace chunklog::storage {

using pg::params;

namespace {

constexpr std::int64_t batch_size = 64;

class gc_pass {
public:
    gc_pass(postgresql_store::impl& store, const std::atomic<bool>* stop, gc_result& result)
        : s_(store), result_(result), pacer_(store.gc_duty, stop, result.stopped) {
        auto now = s_.now();
        grace_cutoff_ = now - s_.gc_grace.count();
        retention_cutoff_ = now - s_.history_retention.count();
    }

    outcome<void> run() {
        uuid after{};
        bool first = true;
        for (;;) {
            if (rest_or_stop()) return {};
            auto user = next_user(after, first);
            if (!user) return user.error();
            if (!*user) return {};
            ++result_.users;
            if (auto done = collect_user(**user); !done) return done;
            after = **user;
            first = false;
        }
    }

private:
    bool rest_or_stop() { return pacer_.rest_or_stop(); }

    outcome<std::optional<uuid>> next_user(const uuid& after, bool first) {
        return s_.read([&](pg::connection& c) -> outcome<std::optional<uuid>> {
            auto r = c.run("SELECT user_id FROM chunklog_users WHERE user_id > $1 OR ($2::boolean AND user_id = $1) "
                           "ORDER BY user_id LIMIT 1",
                           params().add(after).add_text(first ? "true" : "false"));
            if (!r) return r.error();
            if (r->rows() == 0) return std::optional<uuid>{};
            auto u = r->id(0, 0);
            if (!u) return u.error();
            return std::optional{*u};
        });
    }

    outcome<void> collect_user(const uuid& user) {
        // Removing leaves frees their parents: transactions go until a batch finds none.
        if (auto done = repeat([&] { return remove_transactions(user); }, 1); !done) return done;
        if (s_.history_retention.count() > 0)
            if (auto done = repeat([&] { return truncate(user); }, batch_size); !done) return done;
        return repeat([&] { return remove_chunks(user); }, batch_size);
    }

    // Runs batches while each removes at least `enough`.
    template <typename F>
    outcome<void> repeat(F&& batch, std::int64_t enough) {
        for (;;) {
            auto removed = batch();
            if (!removed) return removed.error();
            if (*removed < enough) return {};
            if (rest_or_stop()) return {};
        }
    }

    // Dead and pending transactions past the grace period without children
    // (leaves first: their parents go in a later batch).
    outcome<std::int64_t> remove_transactions(const uuid& user) {
        return s_.write([&](pg::connection& c) -> outcome<std::int64_t> {
            auto row = pg::lock_user(c, user);
            if (!row) return row.error();
            if (row->created) return forget(c, user, *row);
            auto r = c.run("DELETE FROM chunklog_transactions WHERE user_id = $1 AND id IN "
                           "(SELECT t.id FROM chunklog_transactions t WHERE t.user_id = $1 AND t.committed IS NULL "
                           " AND t.stored < $2 AND NOT EXISTS (SELECT 1 FROM chunklog_transactions k "
                           " WHERE k.user_id = $1 AND k.parent = t.id) LIMIT $3) RETURNING chunks",
                           params().add(user).add(grace_cutoff_).add(batch_size));
            if (!r) return r.error();
            for (int i = 0; i < r->rows(); ++i) {
                auto chunks = pg::split_digests(r->bytes(i, 0));
                if (!chunks) return chunks.error();
                if (auto refs = pg::add_references(c, user, *chunks, -1); !refs) return refs.error();
            }
            result_.examined += static_cast<std::uint64_t>(r->rows());
            result_.transactions += static_cast<std::uint64_t>(r->rows());
            return std::int64_t{r->rows()};
        });
    }

    // Committed history before the snapshot, oldest first, committed before
    // the retention cutoff, without children but its committed successor.
    outcome<std::int64_t> truncate(const uuid& user) {
        return s_.write([&](pg::connection& c) -> outcome<std::int64_t> {
            auto row = pg::lock_user(c, user);
            if (!row) return row.error();
            if (row->created) return forget(c, user, *row);
            if (!row->snapshot) return std::int64_t{0};
            auto first = row->history_from + 1;
            auto end = row->snapshot->seq;  // exclusive: the snapshot's transaction stays
            auto r = c.run("SELECT id, parent, chunks, committed FROM chunklog_transactions "
                           "WHERE user_id = $1 AND committed IS NOT NULL AND seq >= $2 AND seq < $3 ORDER BY seq LIMIT $4",
                           params().add(user).add(first).add(end).add(batch_size));
            if (!r) return r.error();
            std::int64_t removed = 0;
            for (int i = 0; i < r->rows(); ++i) {
                ++result_.examined;
                auto seq = first + static_cast<std::uint64_t>(i);
                auto id = r->id(i, 0);
                if (!id) return id.error();
                if (r->i64(i, 3) >= retention_cutoff_) break;
                auto next = pg::chain_at(c, user, seq + 1);
                if (!next) return next.error();
                if (!*next) break;  // never: the snapshot's transaction comes later
                // A dead branch off this transaction keeps it until collected.
                auto others = c.run("SELECT 1 FROM chunklog_transactions WHERE user_id = $1 AND parent = $2 "
                                    "AND id <> $3 LIMIT 1",
                                    params().add(user).add(*id).add((*next)->first));
                if (!others) return others.error();
                if (others->rows() != 0) break;
                auto chunks = pg::split_digests(r->bytes(i, 2));
                if (!chunks) return chunks.error();
                auto d = c.run("DELETE FROM chunklog_transactions WHERE user_id = $1 AND id = $2",
                               params().add(user).add(*id));
                if (!d) return d.error();
                if (auto refs = pg::add_references(c, user, *chunks, -1); !refs) return refs.error();
                ++removed;
            }
            if (removed == 0) return removed;
            // The first version's origin parent (protocol section 12) goes with it.
            auto u = c.run("UPDATE chunklog_users SET history_from = $2, "
                           "origin_parent = CASE WHEN $3::boolean THEN NULL ELSE origin_parent END, "
                           "origin_version = CASE WHEN $3::boolean THEN NULL ELSE origin_version END WHERE user_id = $1",
                           params().add(user).add(first + static_cast<std::uint64_t>(removed) - 1)
                               .add_text(first == 1 ? "true" : "false"));
            if (!u) return u.error();
            result_.transactions += static_cast<std::uint64_t>(removed);
            result_.truncated += static_cast<std::uint64_t>(removed);
            // Stopped early (something younger or still referred to): no more batches.
            return removed < r->rows() ? std::int64_t{0} : removed;
        });
    }

    // Chunks past the grace period that nothing refers to.
    outcome<std::int64_t> remove_chunks(const uuid& user) {
        return s_.write([&](pg::connection& c) -> outcome<std::int64_t> {
            auto row = pg::lock_user(c, user);
            if (!row) return row.error();
            if (row->created) return forget(c, user, *row);
            auto r = c.run("DELETE FROM chunklog_chunks WHERE user_id = $1 AND id IN "
                           "(SELECT id FROM chunklog_chunks WHERE user_id = $1 AND refs <= 0 AND stored < $2 LIMIT $3) "
                           "RETURNING size",
                           params().add(user).add(grace_cutoff_).add(batch_size));
            if (!r) return r.error();
            std::int64_t bytes = 0;
            for (int i = 0; i < r->rows(); ++i) bytes += r->i64(i, 0);
            std::int64_t count = r->rows();
            if (count != 0) {
                auto u = c.run("UPDATE chunklog_users SET chunk_count = chunk_count - $2, chunk_bytes = chunk_bytes - $3 "
                               "WHERE user_id = $1",
                               params().add(user).add(count).add(bytes));
                if (!u) return u.error();
            }
            result_.examined += static_cast<std::uint64_t>(count);
            result_.chunks += static_cast<std::uint64_t>(count);
            result_.bytes += static_cast<std::uint64_t>(bytes);
            return count;
        });
    }

    // The user was deleted since the pass listed it: nothing to collect.
    static outcome<std::int64_t> forget(pg::connection& c, const uuid& user, const pg::user_row& row) {
        if (auto f = pg::forget_if_unused(c, user, row); !f) return f.error();
        return std::int64_t{0};
    }

    postgresql_store::impl& s_;
    gc_result& result_;
    rules::gc_pacer pacer_;
    std::int64_t grace_cutoff_ = 0;
    std::int64_t retention_cutoff_ = 0;
};

}  // namespace

outcome<gc_result> postgresql_store::collect_garbage(const std::atomic<bool>* stop) {
    std::lock_guard one_pass(impl_->gc_pass);
    auto started = std::chrono::steady_clock::now();
    // The cluster-wide pass lock lives on a connection of its own (not the
    // pool's, which the batches use), released when it closes.
    auto lock = pg::connection::open(impl_->conninfo);
    if (!lock) return lock.error();
    if (auto l = (*lock)->run("SELECT pg_advisory_lock($1)", params().add(pg::gc_lock_key)); !l) return l.error();
    gc_result result;
    gc_pass pass(*impl_, stop, result);
    if (auto done = pass.run(); !done) return done.error();
    result.duration = std::chrono::steady_clock::now() - started;
    return result;
}

}  // namespace chunklog::storage
