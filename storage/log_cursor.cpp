#include <chunklog/storage/log_cursor.hpp>

#include "storage/keys.hpp"
#include "storage/log_store_impl.hpp"

#include <rocksdb/snapshot.h>

namespace chunklog::storage {

struct log_cursor::impl {
    log_store::impl& store;
    uuid user;
    std::unique_ptr<rocksdb::ManagedSnapshot> snapshot;
    head_state head;
    std::uint64_t next_seq = 1;
    std::optional<snapshot_record> start;  // the user's snapshot the page starts with

    impl(log_store::impl& s, const uuid& u, std::unique_ptr<rocksdb::ManagedSnapshot> snap, head_state h,
         std::uint64_t next)
        : store(s), user(u), snapshot(std::move(snap)), head(h), next_seq(next) {
        store.open_cursors.fetch_add(1);
    }
    ~impl() {
        snapshot.reset();  // releases the snapshot on the still open DB
        store.open_cursors.fetch_sub(1);
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    const rocksdb::Snapshot* snap() const { return snapshot->snapshot(); }
};

log_cursor::log_cursor(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
log_cursor::~log_cursor() = default;
log_cursor::log_cursor(log_cursor&&) noexcept = default;

const head_state& log_cursor::head() const { return impl_->head; }

const snapshot_record* log_cursor::snapshot() const { return impl_->start ? &*impl_->start : nullptr; }

std::uint64_t log_cursor::position() const { return impl_->next_seq - 1; }

outcome<std::optional<transaction_record>> log_cursor::next() {
    auto& c = *impl_;
    if (c.next_seq > c.head.seq) return std::optional<transaction_record>{};
    auto entry = c.store.read_chain(c.user, c.next_seq, c.snap());
    if (!entry) return entry.error();
    if (!*entry) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
    auto t = c.store.read_transaction(c.user, (*entry)->id, c.snap());
    if (!t) return t.error();
    if (!*t) return make_error(errc::internal, "committed transaction record is missing");
    ++c.next_seq;
    return t;
}

outcome<std::optional<uuid>> log_cursor::origin_parent(const transaction_record& t) {
    if (t.seq != 1) return std::optional<uuid>{};
    auto origin = impl_->store.read_origin(impl_->user, impl_->snap());
    if (!origin) return origin.error();
    if (!*origin || (*origin)->version != t.id) return std::optional<uuid>{};
    return std::optional<uuid>{(*origin)->parent};
}

outcome<std::optional<std::string>> log_cursor::chunk(const digest& id) {
    return impl_->store.handle->get(impl_->store.handle->chunks(), keys::chunk(impl_->user, id), impl_->snap());
}

outcome<std::optional<std::string>> log_cursor::cached_chunk(const digest& id) {
    auto read = impl_->store.handle->get_cached(impl_->store.handle->chunks(), keys::chunk(impl_->user, id),
                                                impl_->snap());
    if (!read) return read.error();
    return std::move(read->value);
}

outcome<log_cursor> log_store::open_log(const uuid& user, const uuid& from, bool from_snapshot) const {
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
    auto cursor = std::make_unique<log_cursor::impl>(*impl_, user, std::move(snapshot), *h, next);
    cursor->start = std::move(start);
    return log_cursor(std::move(cursor));
}

}  // namespace chunklog::storage
