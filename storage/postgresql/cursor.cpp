// postgresql_store::open_log: a cursor holding one connection with a
// repeatable-read, read-only transaction open, so every page it reads sees
// the state of the database when it opened. Committed transactions are
// fetched in batches.
#include "storage/postgresql/store_impl.hpp"

#include <deque>

namespace chunklog::storage {

using pg::params;

namespace {

constexpr std::int64_t fetch_batch = 512;

class postgresql_cursor final : public log_cursor::source {
public:
    postgresql_cursor(pg::pool::lease c, const uuid& user, const pg::user_row& row, std::uint64_t next,
                      std::optional<snapshot_record> start)
        : c_(std::move(c)), user_(user), row_(row), next_seq_(next), start_(std::move(start)) {}
    ~postgresql_cursor() override {
        if (!c_->broken()) (void)c_->run("COMMIT");
    }
    postgresql_cursor(const postgresql_cursor&) = delete;
    postgresql_cursor& operator=(const postgresql_cursor&) = delete;

    const head_state& head() const override { return row_.head; }
    const snapshot_record* snapshot() const override { return start_ ? &*start_ : nullptr; }
    std::uint64_t position() const override { return next_seq_ - 1; }

    outcome<std::optional<transaction_record>> next() override {
        if (next_seq_ > row_.head.seq) return std::optional<transaction_record>{};
        if (fetched_.empty())
            if (auto f = fetch(); !f) return f.error();
        if (fetched_.empty() || fetched_.front().seq != next_seq_)
            return make_error(errc::internal, "chain index is shorter than HEAD's seq");
        auto t = std::move(fetched_.front());
        fetched_.pop_front();
        ++next_seq_;
        return std::optional{std::move(t)};
    }

    outcome<std::optional<uuid>> origin_parent(const transaction_record& t) override {
        if (t.seq != 1) return std::optional<uuid>{};
        auto origin = pg::origin_of(*c_, user_, row_);
        if (!origin) return origin.error();
        if (!*origin || (*origin)->second != t.id) return std::optional<uuid>{};
        return std::optional<uuid>{(*origin)->first};
    }

    outcome<std::optional<std::string>> chunk(const digest& id) override {
        auto r = c_->run("SELECT bytes FROM chunklog_chunks WHERE user_id = $1 AND id = $2", params().add(user_).add(id));
        if (!r) return r.error();
        if (r->rows() == 0) return std::optional<std::string>{};
        return std::optional<std::string>{r->text(0, 0)};
    }

    // Nothing is in this process's memory: every chunk is read from the database.
    outcome<std::optional<std::string>> cached_chunk(const digest&) override { return std::optional<std::string>{}; }

private:
    outcome<void> fetch() {
        auto r = c_->run("SELECT id, parent, seq, chunks FROM chunklog_transactions "
                         "WHERE user_id = $1 AND committed IS NOT NULL AND seq >= $2 AND seq <= $3 ORDER BY seq",
                         params().add(user_).add(next_seq_).add(std::min(row_.head.seq, next_seq_ + fetch_batch - 1)));
        if (!r) return r.error();
        for (int i = 0; i < r->rows(); ++i) {
            auto id = r->id(i, 0);
            auto parent = r->id(i, 1);
            auto chunks = pg::split_digests(r->bytes(i, 3));
            if (!id || !parent || !chunks) return make_error(errc::internal, "corrupt transaction record");
            fetched_.push_back({*id, *parent, static_cast<std::uint64_t>(r->i64(i, 2)), std::move(*chunks)});
        }
        return {};
    }

    pg::pool::lease c_;
    uuid user_;
    pg::user_row row_;
    std::uint64_t next_seq_ = 1;
    std::optional<snapshot_record> start_;
    std::deque<transaction_record> fetched_;
};

}  // namespace

outcome<log_cursor> postgresql_store::open_log(const uuid& user, const uuid& from, bool from_snapshot) const {
    auto c = impl_->pool->acquire();
    if (!c) return c.error();
    if (auto b = (*c)->run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !b) return b.error();
    auto fail = [&](error e) -> outcome<log_cursor> {
        if (!(*c)->broken()) (void)(*c)->run("ROLLBACK");
        return e;
    };
    auto row = pg::read_user(**c, user);
    if (!row) return fail(row.error());
    auto from_seq = pg::committed_seq(**c, user, from, *row);
    bool truncated = !from_seq && from_seq.error().code == errc::history_truncated;
    if (!from_seq && !(truncated && from_snapshot)) return fail(from_seq.error());
    std::optional<snapshot_record> start;
    if (from_snapshot) {
        const auto& s = row->snapshot;
        // A truncated `from` lies before the snapshot: truncation keeps it.
        if (s && (truncated || s->seq > *from_seq)) start = s;
        else if (truncated) return fail(from_seq.error());
    }
    auto next = start ? start->seq + 1 : *from_seq + 1;
    return log_cursor(std::make_unique<postgresql_cursor>(std::move(*c), user, *row, next, std::move(start)));
}

}  // namespace chunklog::storage
