#include "storage/rocksdb/rocksdb_store.hpp"

#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/log_store_impl.hpp"

#include <rocksdb/env.h>
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace chunklog::storage {
namespace {

// Chunk file writes wait on the disk, not the CPU: a few at once let the
// file system merge their syncs.
constexpr std::size_t file_writer_threads = 4;

}  // namespace

std::int64_t rocksdb_store::impl::now() const {
    if (clock) return clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

rocksdb_store::rocksdb_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
rocksdb_store::~rocksdb_store() {
    // A cursor still open would release its snapshot on a deleted DB later:
    // a bug in the caller's destruction order, stopped here rather than there.
    if (auto open = impl_->open_cursors.load(); open != 0) {
        std::fprintf(stderr, "chunklog: fatal: store destroyed with %d log cursor(s) open\n", open);
        std::abort();
    }
}

outcome<std::unique_ptr<log_store>> rocksdb_store::open(const store_options& options) {
    auto handle = db_handle::open(options);
    if (!handle) return handle.error();
    auto p = std::make_unique<impl>();
    p->handle = std::move(*handle);
    p->default_quota = options.default_quota_bytes;
    p->clock = options.clock;
    p->gc_grace = std::max(options.gc_grace, std::chrono::milliseconds(0));
    p->history_retention = std::max(options.history_retention, std::chrono::milliseconds(0));
    p->gc_duty = std::clamp(options.gc_duty, 0.01, 1.0);
    p->snapshot_after = options.snapshot_after;
    p->snapshot_age = std::max(options.snapshot_age, std::chrono::milliseconds(0));
    p->files = std::make_unique<chunk_files>(
        options.dir, options.env != nullptr ? options.env->GetFileSystem() : rocksdb::FileSystem::Default());
    if (options.chunk_file_bytes != 0) p->file_threshold = std::max(options.chunk_file_bytes, chunk_files::min_bytes);
    p->pipeline = std::make_unique<commit_pipeline>(
        p->locks, [h = p->handle.get()](rocksdb::WriteBatch& batch) { return h->commit(batch); },
        commit_pipeline::limits{}, options.before_write_group);
    p->file_writers = std::make_unique<task_threads>(file_writer_threads, "chunklog-files");
    auto opened = p->open_format(options.log_info);
    if (opened) opened = p->files->create();
    if (opened) opened = p->sweep_chunk_files(options.log_info);
    if (!opened) {
        auto e = opened.error();
        e.message = options.dir.string() + ": " + e.message;
        return e;
    }
    return std::unique_ptr<log_store>(new rocksdb_store(std::move(p)));
}

bool rocksdb_store::writable() const noexcept { return impl_->handle->writable(); }
write_state rocksdb_store::writes() const noexcept { return impl_->handle->writes(); }

outcome<head_state> rocksdb_store::head(const uuid& user) const { return impl_->read_head(user); }

outcome<user_summary> rocksdb_store::summary(const uuid& user) const {
    rocksdb::ManagedSnapshot snap(&impl_->db());
    auto h = impl_->read_head(user, snap.snapshot());
    if (!h) return h.error();
    auto stats = impl_->handle->get(impl_->handle->meta(), keys::stats(user), snap.snapshot());
    if (!stats) return stats.error();
    auto truncated = impl_->read_history_from(user, snap.snapshot());
    if (!truncated) return truncated.error();
    auto s = *stats ? keys::decode_stats(**stats) : keys::chunk_stats{};
    return user_summary{*h, h->seq - std::min(h->seq, *truncated), static_cast<std::uint64_t>(s.count),
                        static_cast<std::uint64_t>(s.bytes)};
}

outcome<std::optional<std::string>> rocksdb_store::chunk(const uuid& user, const digest& id) const {
    return impl_->read_chunk(user, id);
}

outcome<std::optional<std::uint64_t>> rocksdb_store::chunk_size(const uuid& user, const digest& id) const {
    auto value = impl_->handle->get(impl_->handle->meta(), keys::chunk_size(user, id));
    if (!value) return value.error();
    if (!*value) return std::optional<std::uint64_t>{};
    auto meta = keys::decode_chunk_meta(**value);
    if (!meta) return make_error(errc::internal, "corrupt chunk size record");
    return std::optional<std::uint64_t>{meta->size};
}

outcome<cached_read<std::string>> rocksdb_store::cached_chunk(const uuid& user, const digest& id) const {
    return impl_->read_chunk_cached(user, id);
}

outcome<cached_read<std::uint64_t>> rocksdb_store::cached_chunk_size(const uuid& user, const digest& id) const {
    auto read = impl_->handle->get_cached(impl_->handle->meta(), keys::chunk_size(user, id));
    if (!read) return read.error();
    if (!read->value) return cached_read<std::uint64_t>{read->on_disk, std::nullopt};
    auto meta = keys::decode_chunk_meta(*read->value);
    if (!meta) return make_error(errc::internal, "corrupt chunk size record");
    return cached_read<std::uint64_t>{false, meta->size};
}

outcome<std::vector<digest>> rocksdb_store::missing_chunks(const uuid& user, std::span<const digest> ids) const {
    return impl_->missing_chunks(user, ids);
}

outcome<std::vector<digest>> rocksdb_store::impl::missing_chunks(const uuid& user, std::span<const digest> ids) {
    std::vector<digest> unique;
    std::unordered_set<digest, id_hash> seen;
    for (const auto& id : ids)
        if (seen.insert(id).second) unique.push_back(id);

    std::vector<std::string> key_storage;
    key_storage.reserve(unique.size());
    for (const auto& id : unique) key_storage.push_back(keys::chunk_size(user, id));
    std::vector<rocksdb::Slice> key_slices(key_storage.begin(), key_storage.end());
    std::vector<rocksdb::PinnableSlice> values(unique.size());
    std::vector<rocksdb::Status> statuses(unique.size());
    db().MultiGet(rocksdb::ReadOptions{}, handle->meta(), key_slices.size(), key_slices.data(),
                         values.data(), statuses.data());

    std::vector<digest> missing;
    for (std::size_t i = 0; i < unique.size(); ++i) {
        if (statuses[i].IsNotFound()) missing.push_back(unique[i]);
        else if (!statuses[i].ok()) return db_handle::read_error(statuses[i]);
    }
    return missing;
}

outcome<std::optional<transaction_record>> rocksdb_store::committed_transaction(const uuid& user, const uuid& id) const {
    if (id.is_root()) return std::optional<transaction_record>{};
    rocksdb::ManagedSnapshot snap(&impl_->db());
    auto t = impl_->read_transaction(user, id, snap.snapshot());
    if (!t || !*t) return t;
    auto committed = impl_->is_committed(user, **t, snap.snapshot());
    if (!committed) return committed.error();
    if (!*committed) return std::optional<transaction_record>{};
    return t;
}

outcome<committed_listing> rocksdb_store::list_committed(const uuid& user, const uuid& from, std::size_t limit) const {
    rocksdb::ManagedSnapshot snap(&impl_->db());
    auto h = impl_->read_head(user, snap.snapshot());
    if (!h) return h.error();
    auto from_seq = impl_->committed_seq(user, from, snap.snapshot());
    if (!from_seq) return from_seq.error();
    committed_listing out{*h, {}};
    auto count = std::min<std::uint64_t>(limit, h->seq - *from_seq);
    out.ids.reserve(count);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    std::unique_ptr<rocksdb::Iterator> it(impl_->db().NewIterator(ro, impl_->handle->meta()));
    for (it->Seek(keys::chain(user, *from_seq + 1)); it->Valid() && out.ids.size() < count; it->Next()) {
        auto entry = keys::decode_chain_entry(it->value().ToStringView());
        if (!entry) return make_error(errc::internal, "corrupt chain index");
        out.ids.push_back(entry->id);
    }
    if (!it->status().ok()) return db_handle::read_error(it->status());
    if (out.ids.size() != count) return make_error(errc::internal, "chain index is shorter than HEAD's seq");
    return out;
}

outcome<planned_write<insert_result>> rocksdb_store::impl::plan_put_chunk(const uuid& user, const digest& id,
                                                                          std::string_view value,
                                                                          std::uint64_t size,
                                                                          rocksdb::WriteBatch& batch) {
    auto added = plan_chunk(user, id, value, size, batch);
    if (!added) return added.error();
    // Sent again: the refreshed stored time keeps it from collection.
    if (!*added) return planned_write<insert_result>{insert_result::already_present, std::nullopt, std::nullopt, false};
    auto quota = reserve_quota(user, size);
    if (!quota) return quota.error();
    return planned_write<insert_result>{insert_result::created, std::move(*quota), std::nullopt, false};
}

outcome<stored_transaction> rocksdb_store::impl::plan_transaction(const uuid& user, const new_transaction& t,
                                                              const pending_transactions* pending,
                                                              const std::unordered_set<digest, id_hash>* known_chunks,
                                                              rocksdb::WriteBatch& batch, const head_state* head) {
    if (t.id.is_root()) return make_error(errc::bad_request, "ROOT cannot be created");
    if (t.parent == t.id) return make_error(errc::bad_request, "a transaction cannot be its own parent");
    auto existing = find_transaction(user, t.id, pending);
    if (!existing) return existing.error();
    if (*existing) {
        const auto& e = **existing;
        if (e.parent != t.parent || e.chunks != t.chunks)
            return make_error(errc::transaction_exists, "a different transaction with this id exists");
        if (t.seq && *t.seq != e.seq) return make_error(errc::bad_request, "seq must be parent.seq + 1");
        if (pending == nullptr || !pending->contains(t.id)) {
            // Sent again while not committed: its stored time starts anew.
            auto key = keys::uncommitted(user, t.id);
            auto uncommitted = handle->get(handle->meta(), key);
            if (!uncommitted) return uncommitted.error();
            if (*uncommitted) batch.Put(handle->meta(), key, keys::encode_time(now()));
        }
        return stored_transaction{insert_result::already_present, std::move(**existing)};
    }

    std::uint64_t parent_seq = 0;
    if (head != nullptr && !t.parent.is_root() && t.parent == head->head) {
        parent_seq = head->seq;  // HEAD names its transaction's seq: no read
    } else if (!t.parent.is_root()) {
        auto parent = find_transaction(user, t.parent, pending);
        if (!parent) return parent.error();
        if (!*parent) return make_error(errc::unknown_parent, "the parent transaction does not exist");
        parent_seq = (*parent)->seq;
    }
    if (t.seq && *t.seq != parent_seq + 1) return make_error(errc::bad_request, "seq must be parent.seq + 1");

    // Chunks the request stores or found stored (under their stripes) need no second read.
    std::vector<digest> unknown;
    unknown.reserve(t.chunks.size());
    for (const auto& c : t.chunks)
        if (known_chunks == nullptr || !known_chunks->contains(c)) unknown.push_back(c);
    auto missing = unknown.empty() ? outcome<std::vector<digest>>(std::vector<digest>{}) : missing_chunks(user, unknown);
    if (!missing) return missing.error();
    if (!missing->empty()) {
        auto e = make_error(errc::missing_chunks, "some referenced chunks are not stored");
        e.missing = std::move(*missing);
        return e;
    }

    transaction_record record{t.id, t.parent, parent_seq + 1, t.chunks};
    batch.Put(handle->meta(), keys::transaction(user, t.id), keys::encode_transaction(record));
    batch.Put(handle->meta(), keys::child(user, t.parent, t.id), rocksdb::Slice());
    // A publish's new transactions (pending set) get this record from
    // plan_publish, once it knows which of them stay uncommitted.
    if (pending == nullptr) batch.Put(handle->meta(), keys::uncommitted(user, t.id), keys::encode_time(now()));
    add_references(user, t.chunks, 1, batch);
    return stored_transaction{insert_result::created, std::move(record)};
}

outcome<planned_write<stored_transaction>> rocksdb_store::impl::plan_put_transaction(const uuid& user,
                                                                                    const new_transaction& t,
                                                                                    rocksdb::WriteBatch& batch) {
    auto planned = plan_transaction(user, t, nullptr, nullptr, batch);
    if (!planned) return planned.error();
    return planned_write<stored_transaction>{std::move(*planned), std::nullopt, std::nullopt, false};
}

// The target's stripe keeps garbage collection from removing it (it is not
// committed yet, and has no children) before the advance commits it.
outcome<planned_write<head_state>> rocksdb_store::impl::plan_advance_head(const uuid& user, const uuid& target,
                                                                          rocksdb::WriteBatch& batch) {
    auto h = read_head_locked(user);
    if (!h) return h.error();
    if (target == h->head) return planned_write<head_state>{*h, std::nullopt, std::nullopt, false};
    if (target.is_root()) return conflict(*h, "HEAD cannot move back to ROOT");

    auto t = read_transaction(user, target);
    if (!t) return t.error();
    if (!*t) return make_error(errc::unknown_transaction, "the transaction does not exist");
    auto children = has_children(user, target);
    if (!children) return children.error();
    if (*children) return conflict(*h, "the transaction has children");
    if (auto plan = plan_advance(user, *h, **t, batch); !plan) return plan.error();
    head_state after{target, (*t)->seq};
    return planned_write<head_state>{after, std::nullopt, after, true};
}

outcome<void> rocksdb_store::delete_user(const uuid& user) {
    if (auto w = impl_->check_writable(); !w) return w;
    auto& locks = impl_->locks.of_user(user);
    std::unique_lock data(locks.data);
    std::lock_guard head_lock(locks.head);
    impl_->locks.forget_head(user);
    impl_->locks.forget_origin(user);
    auto begin = keys::user_begin(user);
    auto end = keys::user_end(user);
    rocksdb::WriteBatch batch;
    batch.DeleteRange(impl_->handle->meta(), begin, end);
    batch.DeleteRange(impl_->handle->chunks(), begin, end);
    if (auto c = impl_->handle->commit(batch); !c) return c;
    // The references are gone, synced: the files go too, once no snapshot
    // from before can read them, but for those in flight, whose reference
    // is yet to come. What is left behind (by a failure, or a file whose
    // writer had not yet settled it) the sweep at the next open removes.
    // The data lock, held from before the commit to past the listing, is
    // what makes this safe: the pipeline holds it (shared) from a write's
    // plan to its commit, so a reference committed after this delete is to
    // a file still in flight here.
    // The delete is done: a failure from here on is reported, not returned.
    auto files = impl_->files->list();
    if (!files) {
        impl_->handle->report(files.error().message + " (the store removes the user's files when it next opens)");
        return {};
    }
    std::vector<std::pair<digest, std::uint64_t>> removed;
    for (const auto& f : *files)
        if (f.user == user && !impl_->files->in_flight(f.number)) removed.emplace_back(f.id, f.number);
    impl_->retire_files(user, removed);
    return {};
}

outcome<void> rocksdb_store::impl::sweep_chunk_files(const std::function<void(std::string_view)>& log_info) {
    auto removed = files->sweep([this](const chunk_file_name& f) -> outcome<bool> {
        auto value = handle->get(handle->chunks(), keys::chunk(f.user, f.id));
        if (!value) return value.error();
        if (!*value) return false;
        auto ref = decode_chunk_file_ref(f.id, **value);
        return ref && ref->number == f.number;
    });
    if (!removed) return removed.error();
    if (*removed != 0 && log_info)
        log_info("removed " + std::to_string(*removed) + " chunk file(s) that no chunk refers to");
    return {};
}

}  // namespace chunklog::storage
