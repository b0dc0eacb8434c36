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

std::uint64_t log_cursor::position() const { return impl_->next_seq - 1; }

outcome<std::optional<transaction_record>> log_cursor::next() {
    auto& c = *impl_;
    if (c.next_seq > c.head.seq) return std::optional<transaction_record>{};
    auto id_bytes = c.store.handle->get(c.store.handle->meta(), keys::chain(c.user, c.next_seq), c.snap());
    if (!id_bytes) return id_bytes.error();
    auto id = *id_bytes ? uuid::from_bytes(**id_bytes) : std::nullopt;
    if (!id) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
    auto t = c.store.read_transaction(c.user, *id, c.snap());
    if (!t) return t.error();
    if (!*t) return make_error(errc::internal, "committed transaction record is missing");
    ++c.next_seq;
    return t;
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

outcome<log_cursor> log_store::open_log(const uuid& user, const uuid& from) const {
    auto snapshot = std::make_unique<rocksdb::ManagedSnapshot>(&impl_->db());
    auto h = impl_->read_head(user, snapshot->snapshot());
    if (!h) return h.error();
    auto from_seq = impl_->committed_seq(user, from, snapshot->snapshot());
    if (!from_seq) return from_seq.error();
    return log_cursor(std::make_unique<log_cursor::impl>(*impl_, user, std::move(snapshot), *h, *from_seq + 1));
}

}  // namespace chunklog::storage
