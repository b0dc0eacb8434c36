#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/log_store_impl.hpp"

#include <rocksdb/snapshot.h>

namespace chunklog::storage {

namespace {

// A cursor over one RocksDB snapshot.
class rocksdb_cursor final : public log_cursor::source {
public:
    rocksdb_cursor(rocksdb_store::impl& s, const uuid& u, std::unique_ptr<rocksdb::ManagedSnapshot> snap,
                   head_state h, std::uint64_t next, std::optional<snapshot_record> start)
        : store_(s), user_(u), snapshot_(std::move(snap)), head_(h), next_seq_(next), start_(std::move(start)) {
        store_.open_cursors.fetch_add(1);
    }
    ~rocksdb_cursor() override {
        snapshot_.reset();  // releases the snapshot on the still open DB
        store_.open_cursors.fetch_sub(1);
    }
    rocksdb_cursor(const rocksdb_cursor&) = delete;
    rocksdb_cursor& operator=(const rocksdb_cursor&) = delete;

    const head_state& head() const override { return head_; }
    const snapshot_record* snapshot() const override { return start_ ? &*start_ : nullptr; }
    std::uint64_t position() const override { return next_seq_ - 1; }

    outcome<std::optional<transaction_record>> next() override {
        if (next_seq_ > head_.seq) return std::optional<transaction_record>{};
        auto entry = store_.read_chain(user_, next_seq_, snap());
        if (!entry) return entry.error();
        if (!*entry) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
        auto t = store_.read_transaction(user_, (*entry)->id, snap());
        if (!t) return t.error();
        if (!*t) return make_error(errc::internal, "committed transaction record is missing");
        ++next_seq_;
        return t;
    }

    outcome<std::optional<uuid>> origin_parent(const transaction_record& t) override {
        if (t.seq != 1) return std::optional<uuid>{};
        auto origin = store_.read_origin(user_, snap());
        if (!origin) return origin.error();
        if (!*origin || (*origin)->version != t.id) return std::optional<uuid>{};
        return std::optional<uuid>{(*origin)->parent};
    }

    outcome<std::optional<std::string>> chunk(const digest& id) override {
        return store_.read_chunk(user_, id, snap());
    }

    outcome<std::optional<std::string>> cached_chunk(const digest& id) override {
        auto read = store_.read_chunk_cached(user_, id, snap());
        if (!read) return read.error();
        return std::move(read->value);
    }

private:
    const rocksdb::Snapshot* snap() const { return snapshot_->snapshot(); }

    rocksdb_store::impl& store_;
    uuid user_;
    std::unique_ptr<rocksdb::ManagedSnapshot> snapshot_;
    head_state head_;
    std::uint64_t next_seq_ = 1;
    std::optional<snapshot_record> start_;  // the user's snapshot the page starts with
};

}  // namespace

outcome<log_cursor> rocksdb_store::open_log(const uuid& user, const uuid& from, bool from_snapshot) const {
    auto snapshot = std::make_unique<rocksdb::ManagedSnapshot>(&impl_->db());
    auto h = impl_->read_head(user, snapshot->snapshot());
    if (!h) return h.error();
    auto from_seq = impl_->committed_seq(user, from, snapshot->snapshot());
    bool truncated = !from_seq && from_seq.error().code == errc::history_truncated;
    if (!from_seq && !(truncated && from_snapshot)) return from_seq.error();
    std::optional<snapshot_record> start;
    if (from_snapshot) {
        auto s = impl_->read_snapshot(user, snapshot->snapshot());
        if (!s) return s.error();
        // A truncated `from` lies before the snapshot: truncation keeps it.
        if (*s && (truncated || (*s)->seq > *from_seq)) start = std::move(*s);
        else if (truncated) return from_seq.error();
    }
    auto next = start ? start->seq + 1 : *from_seq + 1;
    return log_cursor(std::make_unique<rocksdb_cursor>(*impl_, user, std::move(snapshot), *h, next, std::move(start)));
}

}  // namespace chunklog::storage
