// postgresql_store: opening, and the reads (each one repeatable-read
// transaction, so it sees one state of the database).
#include "storage/postgresql/store_listener.hpp"
#include "storage/postgresql/store_notifier.hpp"
#include "storage/postgresql/schema.hpp"
#include "storage/postgresql/store_impl.hpp"
#include "storage/rules.hpp"

#include <algorithm>

namespace chunklog::storage {

using pg::params;

std::int64_t postgresql_store::impl::now() const {
    if (clock) return clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

postgresql_store::postgresql_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
postgresql_store::~postgresql_store() = default;

outcome<std::unique_ptr<log_store>> postgresql_store::open(const store_options& options) {
    auto p = std::make_unique<impl>();
    p->conninfo = options.connection;
    p->pool = std::make_unique<pg::pool>(options.connection, options.pool_size, options.sync_writes);
    p->notifier = std::make_unique<store_notifier>(options.connection, options.log_error);
    p->pool->on_committed_notifications([notifier = p->notifier.get()](auto notifications) {
        for (const auto& [channel, payload] : notifications) notifier->post(channel, payload);
    });
    p->clock = options.clock;
    p->log_error = options.log_error;
    p->default_quota = options.default_quota_bytes;
    p->gc_grace = std::max(options.gc_grace, std::chrono::milliseconds(0));
    p->history_retention = std::max(options.history_retention, std::chrono::milliseconds(0));
    p->gc_duty = std::clamp(options.gc_duty, 0.01, 1.0);
    p->snapshot_after = options.snapshot_after;
    p->snapshot_age = std::max(options.snapshot_age, std::chrono::milliseconds(0));
    {
        auto c = p->pool->acquire();
        if (!c) return c.error();
        if (auto s = pg::prepare_schema(**c, options.log_info); !s) return s.error();
    }
    return std::unique_ptr<log_store>(new postgresql_store(std::move(p)));
}

void postgresql_store::watch(store_events events) {
    impl_->listener.reset();
    if (events.head_moved || events.token_revoked)
        impl_->listener = std::make_unique<store_listener>(impl_->conninfo, std::move(events), impl_->log_error);
}

bool postgresql_store::writable() const noexcept { return !impl_->database_down.load(std::memory_order_relaxed); }
write_state postgresql_store::writes() const noexcept {
    // After a call found the database unreachable, ask it again: health
    // checks must see it come back even when no request reaches this node.
    if (impl_->database_down.load(std::memory_order_relaxed)) {
        try {
            (void)impl_->read([](pg::connection& c) -> outcome<void> {
                if (auto r = c.run("SELECT 1"); !r) return r.error();
                return {};
            });
        } catch (...) {
            // Out of memory: the flag stays as it was.
        }
    }
    return writable() ? write_state::ok : write_state::failed;
}

outcome<head_state> postgresql_store::head(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<head_state> {
        auto r = c.run("SELECT head, head_seq FROM chunklog_users WHERE user_id = $1", params().add(user));
        if (!r) return r.error();
        if (r->rows() == 0) return head_state{};
        auto id = r->id(0, 0);
        if (!id) return id.error();
        return head_state{*id, static_cast<std::uint64_t>(r->i64(0, 1))};
    });
}

namespace {

user_summary summary_of(const pg::user_row& row) {
    return user_summary{row.head, row.head.seq - std::min(row.head.seq, row.history_from),
                        static_cast<std::uint64_t>(std::max<std::int64_t>(row.chunk_count, 0)),
                        static_cast<std::uint64_t>(std::max<std::int64_t>(row.chunk_bytes, 0))};
}

}  // namespace

outcome<user_summary> postgresql_store::summary(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<user_summary> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        return summary_of(*row);
    });
}

outcome<snapshot_urgency> postgresql_store::impl::urgency_of(pg::connection& c, const uuid& user,
                                                             const pg::user_row& row) {
    const auto& h = row.head;
    auto base = row.snapshot ? row.snapshot->seq : 0;
    if (h.seq <= base) return snapshot_urgency::none;
    std::int64_t since = 0;
    if (row.snapshot) {
        since = row.snapshot->created;
    } else {
        // Without a snapshot, the age counts from the first commit.
        auto first = pg::chain_at(c, user, row.history_from + 1);
        if (!first) return first.error();
        if (!*first) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
        since = (*first)->second;
    }
    return urgency_at(h.seq, base, since);
}

snapshot_urgency postgresql_store::impl::urgency_at(std::uint64_t head_seq, std::uint64_t base,
                                                    std::int64_t since) const {
    if (head_seq <= base) return snapshot_urgency::none;  // nothing a new snapshot would add
    return rules::urgency(head_seq - base, now() - since, snapshot_after, snapshot_age);
}

outcome<user_overview> postgresql_store::overview(const uuid& user) const {
    return impl_->read([&](pg::connection& c) -> outcome<user_overview> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        auto urgency = impl_->urgency_of(c, user, *row);
        if (!urgency) return urgency.error();
        user_overview out;
        out.summary = summary_of(*row);
        if (row->snapshot) out.snapshot = snapshot_ref{row->snapshot->transaction, row->snapshot->seq};
        out.urgency = *urgency;
        out.history_from = row->history_from;
        return out;
    });
}

outcome<snapshot_urgency> postgresql_store::urgency(const uuid& user) const {
    return impl_->read([&](pg::connection& c) -> outcome<snapshot_urgency> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        return impl_->urgency_of(c, user, *row);
    });
}

outcome<std::optional<snapshot_record>> postgresql_store::snapshot(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<std::optional<snapshot_record>> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        return std::move(row->snapshot);
    });
}

outcome<std::optional<std::string>> postgresql_store::chunk(const uuid& user, const digest& id) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<std::optional<std::string>> {
        auto r = c.run("SELECT bytes FROM chunklog_chunks WHERE user_id = $1 AND id = $2", params().add(user).add(id));
        if (!r) return r.error();
        if (r->rows() == 0) return std::optional<std::string>{};
        return std::optional<std::string>{r->text(0, 0)};
    });
}

outcome<std::optional<std::uint64_t>> postgresql_store::chunk_size(const uuid& user, const digest& id) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<std::optional<std::uint64_t>> {
        auto r = c.run("SELECT size FROM chunklog_chunks WHERE user_id = $1 AND id = $2", params().add(user).add(id));
        if (!r) return r.error();
        if (r->rows() == 0) return std::optional<std::uint64_t>{};
        return std::optional<std::uint64_t>{static_cast<std::uint64_t>(r->i64(0, 0))};
    });
}

// Nothing is cached in this process: every read goes to the database.
outcome<cached_read<std::string>> postgresql_store::cached_chunk(const uuid&, const digest&) const {
    return cached_read<std::string>{true, std::nullopt};
}

outcome<cached_read<std::uint64_t>> postgresql_store::cached_chunk_size(const uuid&, const digest&) const {
    return cached_read<std::uint64_t>{true, std::nullopt};
}

outcome<std::vector<digest>> postgresql_store::missing_chunks(const uuid& user, std::span<const digest> ids) const {
    return impl_->read_one([&](pg::connection& c) { return pg::missing_chunks(c, user, ids); });
}

outcome<std::optional<transaction_record>> postgresql_store::committed_transaction(const uuid& user,
                                                                                   const uuid& id) const {
    if (id.is_root()) return std::optional<transaction_record>{};
    return impl_->read_one([&](pg::connection& c) -> outcome<std::optional<transaction_record>> {
        auto t = pg::read_transaction(c, user, id);
        if (!t) return t.error();
        if (!*t || !(*t)->committed) return std::optional<transaction_record>{};
        return std::optional{std::move((*t)->record)};
    });
}

outcome<committed_listing> postgresql_store::list_committed(const uuid& user, const uuid& from,
                                                            std::size_t limit) const {
    return impl_->read([&](pg::connection& c) -> outcome<committed_listing> {
        auto row = pg::read_user(c, user);
        if (!row) return row.error();
        auto from_seq = pg::committed_seq(c, user, from, *row);
        if (!from_seq) return from_seq.error();
        committed_listing out{row->head, {}};
        auto count = std::min<std::uint64_t>(limit, row->head.seq - *from_seq);
        if (count == 0) return out;
        auto r = c.run("SELECT id FROM chunklog_transactions WHERE user_id = $1 AND committed IS NOT NULL "
                       "AND seq > $2 ORDER BY seq LIMIT $3",
                       params().add(user).add(*from_seq).add(count));
        if (!r) return r.error();
        for (int i = 0; i < r->rows(); ++i) {
            auto id = r->id(i, 0);
            if (!id) return id.error();
            out.ids.push_back(*id);
        }
        if (out.ids.size() != count) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
        return out;
    });
}

std::chrono::milliseconds postgresql_store::gc_grace() const { return impl_->gc_grace; }
std::chrono::milliseconds postgresql_store::history_retention() const { return impl_->history_retention; }

}  // namespace chunklog::storage
