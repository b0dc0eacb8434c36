// rocksdb_store::collect_garbage: garbage collection and history truncation
// (protocol section 9).
//
// A pass visits every user with data, and for each runs three phases, each
// in bounded batches:
//   1. uncommitted transactions ('U' keys) stored or re-sent before the
//      grace cutoff and without children; removing one may free its parent,
//      which is looked at again in a later batch;
//   2. with a history retention, committed transactions before the
//      snapshot's, oldest first, committed before the retention cutoff and
//      without children other than their committed successor;
//   3. chunks ('C' keys) stored or re-sent before the grace cutoff with no
//      references ('R': transactions and the snapshot that name them).
// A batch reads candidates without locks, then takes the user's data lock
// shared and the key stripes of its candidates, checks each again on the
// live store, and removes those still eligible in one unsynced write. Every
// write that relies on a transaction or chunk holds its stripe while it
// checks and commits (log_store_impl.hpp), so a removal and such a write
// are ordered: the write sees the removal and fails, or the removal sees
// what the write added (a child, a reference, a refreshed time) and keeps
// the record. No lock is held across more than one batch, and the batches
// are not synced (a removal lost to a crash only brings garbage back, whole):
// a batch holds its stripes no longer than a synced request holds its own.
// The pass syncs the write-ahead log once, at its end, holding nothing.
//
// Between batches the pass rests, holding nothing, so that it works only
// its share of the time (store_options::gc_duty): the requests it would
// otherwise delay (a core it keeps busy, a stripe it holds, the log its
// writes lengthen before their next sync) keep their latency, and the pass
// takes longer instead.
#include "storage/rocksdb/log_store_impl.hpp"
#include "storage/rules.hpp"

#include <algorithm>
#include <deque>

namespace chunklog::storage {
namespace {

constexpr std::size_t transaction_batch = 64;
constexpr std::size_t history_batch = 64;
constexpr std::size_t chunk_batch = 64;

struct page {
    std::vector<std::pair<std::string, std::string>> entries;
    bool last = false;  // nothing with the prefix after these
};

// Up to `limit` entries of the metadata family whose keys start with
// `prefix`, after the key `after` (from the first when empty). Scans do not
// fill the block cache, which belongs to requests.
outcome<page> read_page(db_handle& h, const std::string& prefix, const std::string& after, std::size_t limit) {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(h.db().NewIterator(ro, h.meta()));
    it->Seek(after.empty() ? prefix : after + std::string(1, '\0'));
    page out;
    for (; it->Valid() && it->key().starts_with(prefix) && out.entries.size() < limit; it->Next())
        out.entries.emplace_back(it->key().ToString(), it->value().ToString());
    if (!it->status().ok()) return db_handle::read_error(it->status());
    out.last = !(it->Valid() && it->key().starts_with(prefix));
    return out;
}

class gc_pass {
public:
    gc_pass(rocksdb_store::impl& store, const std::atomic<bool>* stop, gc_result& result)
        : s_(store), h_(*store.handle), stop_(stop), result_(result), pacer_(store.gc_duty, stop, result.stopped) {
        auto now = s_.now();
        grace_cutoff_ = now - s_.gc_grace.count();
        retention_cutoff_ = now - s_.history_retention.count();
    }

    outcome<void> run() {
        std::optional<uuid> next = uuid{};
        while (next) {
            if (rest_or_stop()) return {};
            auto user = first_user_from(*next);
            if (!user) return user.error();
            if (!*user) break;
            ++result_.users;
            if (auto done = collect_user(**user); !done) return done;
            next = keys::next_user(**user);
        }
        return {};
    }

private:
    bool rest_or_stop() { return pacer_.rest_or_stop(); }

    outcome<std::optional<uuid>> first_user_from(const uuid& from) {
        rocksdb::ReadOptions ro;
        ro.fill_cache = false;
        std::unique_ptr<rocksdb::Iterator> it(h_.db().NewIterator(ro, h_.meta()));
        it->Seek(std::string(from.raw()));
        if (!it->status().ok()) return db_handle::read_error(it->status());
        if (!it->Valid()) return std::optional<uuid>{};
        auto user = keys::key_user(it->key().ToStringView());
        if (!user) return make_error(errc::internal, "corrupt metadata key without a user id");
        return user;
    }

    outcome<void> collect_user(const uuid& user) {
        if (auto done = collect_transactions(user); !done) return done;
        if (s_.history_retention.count() > 0)
            if (auto done = truncate_history(user); !done) return done;
        return collect_chunks(user);
    }

    outcome<std::vector<uuid>> children(const uuid& user, const uuid& id) {
        auto prefix = keys::children_prefix(user, id);
        std::unique_ptr<rocksdb::Iterator> it(s_.db().NewIterator(rocksdb::ReadOptions{}, h_.meta()));
        std::vector<uuid> out;
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
            auto child = uuid::from_bytes(it->key().ToStringView().substr(prefix.size()));
            if (!child) return make_error(errc::internal, "corrupt children index key");
            out.push_back(*child);
        }
        if (!it->status().ok()) return db_handle::read_error(it->status());
        return out;
    }

    // Phase 1: dead and pending transactions.
    outcome<void> collect_transactions(const uuid& user) {
        auto prefix = keys::tag_prefix(user, keys::tag::uncommitted);
        std::string after;
        bool scanned = false;
        std::deque<uuid> follow_ups;  // parents of removed transactions, to look at again
        std::unordered_set<uuid, id_hash> queued;
        for (;;) {
            if (rest_or_stop()) return {};
            std::vector<uuid> candidates;
            while (!follow_ups.empty() && candidates.size() < transaction_batch) {
                candidates.push_back(follow_ups.front());
                queued.erase(follow_ups.front());
                follow_ups.pop_front();
            }
            if (!scanned && candidates.size() < transaction_batch) {
                auto p = read_page(h_, prefix, after, transaction_batch - candidates.size());
                if (!p) return p.error();
                for (const auto& [key, value] : p->entries) {
                    ++result_.examined;
                    auto stored = keys::decode_time(value);
                    if (stored && *stored >= grace_cutoff_) continue;
                    if (auto id = uuid::from_bytes(std::string_view(key).substr(prefix.size()))) candidates.push_back(*id);
                }
                if (!p->entries.empty()) after = p->entries.back().first;
                scanned = p->last;
            }
            if (candidates.empty()) {
                if (scanned && follow_ups.empty()) return {};
                continue;
            }
            auto parents = remove_transactions(user, candidates);
            if (!parents) return parents.error();
            for (const auto& p : *parents)
                if (queued.insert(p).second) follow_ups.push_back(p);
        }
    }

    // Removes the candidates still eligible under their stripes; returns
    // the parents of those removed (which may have become removable).
    outcome<std::vector<uuid>> remove_transactions(const uuid& user, std::vector<uuid> candidates) {
        std::sort(candidates.begin(), candidates.end());
        candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
        std::vector<std::string_view> ids;
        for (const auto& c : candidates) ids.push_back(c.raw());
        std::shared_lock data(s_.locks.of_user(user).data);
        auto held = s_.locks.lock_keys(user, ids);

        std::vector<transaction_record> eligible;
        for (const auto& id : candidates) {
            auto u = h_.get(h_.meta(), keys::uncommitted(user, id));
            if (!u) return u.error();
            if (!*u) continue;  // committed or removed meanwhile
            auto stored = keys::decode_time(**u);
            if (!stored || *stored >= grace_cutoff_) continue;  // re-sent meanwhile (or unreadable: kept)
            auto t = s_.read_transaction(user, id);
            if (!t) return t.error();
            if (*t) eligible.push_back(std::move(**t));
        }
        // A transaction goes only when every child goes in the same write:
        // leaves first, then the parents they leave childless.
        rocksdb::WriteBatch batch;
        std::unordered_set<uuid, id_hash> removing;
        for (bool progress = true; progress;) {
            progress = false;
            for (const auto& t : eligible) {
                if (removing.contains(t.id)) continue;
                auto kids = children(user, t.id);
                if (!kids) return kids.error();
                if (std::any_of(kids->begin(), kids->end(), [&](const uuid& k) { return !removing.contains(k); }))
                    continue;
                removing.insert(t.id);
                batch.Delete(h_.meta(), keys::transaction(user, t.id));
                batch.Delete(h_.meta(), keys::uncommitted(user, t.id));
                batch.Delete(h_.meta(), keys::child(user, t.parent, t.id));
                s_.add_references(user, t.chunks, -1, batch);
                progress = true;
            }
        }
        if (removing.empty()) return std::vector<uuid>{};
        if (auto c = h_.commit_unsynced(batch); !c) return c.error();
        result_.transactions += removing.size();
        // Parents still uncommitted may have become removable (committed ones never are).
        std::vector<uuid> parents;
        for (const auto& t : eligible) {
            if (!removing.contains(t.id) || t.parent.is_root() || removing.contains(t.parent)) continue;
            auto u = h_.get(h_.meta(), keys::uncommitted(user, t.parent));
            if (!u) return u.error();
            if (*u) parents.push_back(t.parent);
        }
        return parents;
    }

    // Phase 2: committed history before the snapshot, oldest first.
    outcome<void> truncate_history(const uuid& user) {
        auto snapshot = s_.read_snapshot(user);
        if (!snapshot) return snapshot.error();
        if (!*snapshot) return {};
        auto end = (*snapshot)->seq;  // exclusive: the snapshot's transaction stays
        auto from = s_.read_history_from(user);
        if (!from) return from.error();
        for (auto seq = *from + 1; seq < end;) {
            if (rest_or_stop()) return {};
            auto last = std::min<std::uint64_t>(end - 1, seq + history_batch - 1);
            // The ids to lock, read first without a lock.
            std::vector<uuid> planned;
            for (auto s = seq; s <= last; ++s) {
                auto e = s_.read_chain(user, s);
                if (!e) return e.error();
                ++result_.examined;
                if (!*e || (*e)->committed >= retention_cutoff_) break;
                planned.push_back((*e)->id);
            }
            if (planned.empty()) return {};
            auto removed = truncate(user, seq, planned);
            if (!removed) return removed.error();
            if (*removed < planned.size()) return {};  // something younger or still referred to
            seq += *removed;
        }
        return {};
    }

    // Removes the committed transactions `ids` at seq `first` on, in order,
    // up to the first one that must stay; returns how many went.
    outcome<std::size_t> truncate(const uuid& user, std::uint64_t first, const std::vector<uuid>& ids) {
        std::vector<std::string_view> raw;
        for (const auto& id : ids) raw.push_back(id.raw());
        std::shared_lock data(s_.locks.of_user(user).data);
        auto held = s_.locks.lock_keys(user, raw);

        // The user may have been deleted (and written again) since the ids were read.
        auto from = s_.read_history_from(user);
        if (!from) return from.error();
        if (*from != first - 1) return std::size_t{0};
        auto snapshot = s_.read_snapshot(user);
        if (!snapshot) return snapshot.error();
        if (!*snapshot || (*snapshot)->seq < first + ids.size()) return std::size_t{0};
        rocksdb::WriteBatch batch;
        std::size_t removed = 0;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto seq = first + i;
            auto e = s_.read_chain(user, seq);
            if (!e) return e.error();
            if (!*e || (*e)->id != ids[i] || (*e)->committed >= retention_cutoff_) break;
            auto t = s_.read_transaction(user, ids[i]);
            if (!t) return t.error();
            if (!*t) break;
            auto next = s_.read_chain(user, seq + 1);
            if (!next) return next.error();
            if (!*next) break;  // never: the snapshot's transaction comes later
            auto kids = children(user, ids[i]);
            if (!kids) return kids.error();
            // A dead branch off this transaction keeps it until collected.
            if (std::any_of(kids->begin(), kids->end(), [&](const uuid& k) { return k != (*next)->id; })) break;
            batch.Delete(h_.meta(), keys::transaction(user, ids[i]));
            batch.Delete(h_.meta(), keys::chain(user, seq));
            batch.Delete(h_.meta(), keys::child(user, (*t)->parent, ids[i]));
            batch.Delete(h_.meta(), keys::child(user, ids[i], (*next)->id));
            s_.add_references(user, (*t)->chunks, -1, batch);
            // The first version's origin parent (protocol section 12) goes with it.
            if (seq == 1) batch.Delete(h_.meta(), keys::origin(user));
            ++removed;
        }
        if (removed == 0) return removed;
        batch.Put(h_.meta(), keys::history_from(user), keys::encode_u64(first + removed - 1));
        if (auto c = h_.commit_unsynced(batch); !c) return c.error();
        result_.transactions += removed;
        result_.truncated += removed;
        return removed;
    }

    // Phase 3: chunks nothing refers to.
    outcome<void> collect_chunks(const uuid& user) {
        auto prefix = keys::tag_prefix(user, keys::tag::chunk_size);
        std::string after;
        for (;;) {
            if (rest_or_stop()) return {};
            auto p = read_page(h_, prefix, after, chunk_batch);
            if (!p) return p.error();
            std::vector<digest> old;
            for (const auto& [key, value] : p->entries) {
                ++result_.examined;
                auto meta = keys::decode_chunk_meta(value);
                if (!meta || meta->stored >= grace_cutoff_) continue;
                if (auto id = digest::from_bytes(std::string_view(key).substr(prefix.size()))) old.push_back(*id);
            }
            if (!old.empty()) {
                auto unreferenced = without_references(user, old);
                if (!unreferenced) return unreferenced.error();
                if (!unreferenced->empty())
                    if (auto done = remove_chunks(user, *unreferenced); !done) return done;
            }
            if (p->last) return {};
            after = p->entries.back().first;
        }
    }

    // The chunks of `ids` that nothing refers to, read on the live store.
    outcome<std::vector<digest>> without_references(const uuid& user, const std::vector<digest>& ids) {
        std::vector<std::string> key_storage;
        key_storage.reserve(ids.size());
        for (const auto& id : ids) key_storage.push_back(keys::references(user, id));
        std::vector<rocksdb::Slice> key_slices(key_storage.begin(), key_storage.end());
        std::vector<rocksdb::PinnableSlice> values(ids.size());
        std::vector<rocksdb::Status> statuses(ids.size());
        s_.db().MultiGet(rocksdb::ReadOptions{}, h_.meta(), key_slices.size(), key_slices.data(), values.data(),
                         statuses.data());
        std::vector<digest> out;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (statuses[i].IsNotFound() || (statuses[i].ok() && keys::decode_references(values[i].ToStringView()) <= 0))
                out.push_back(ids[i]);
            else if (!statuses[i].ok())
                return db_handle::read_error(statuses[i]);
        }
        return out;
    }

    outcome<void> remove_chunks(const uuid& user, const std::vector<digest>& candidates) {
        std::vector<std::string_view> ids;
        for (const auto& c : candidates) ids.push_back(c.raw());
        std::shared_lock data(s_.locks.of_user(user).data);
        auto held = s_.locks.lock_keys(user, ids);

        auto unreferenced = without_references(user, candidates);
        if (!unreferenced) return unreferenced.error();
        rocksdb::WriteBatch batch;
        std::int64_t count = 0, bytes = 0;
        std::vector<std::pair<digest, std::uint64_t>> files;  // chunk id, file number
        for (const auto& id : *unreferenced) {
            auto value = h_.get(h_.meta(), keys::chunk_size(user, id));
            if (!value) return value.error();
            if (!*value) continue;  // removed by DELETE meanwhile
            auto meta = keys::decode_chunk_meta(**value);
            if (!meta || meta->stored >= grace_cutoff_) continue;  // re-sent meanwhile
            if (meta->size >= chunk_files::min_bytes) {
                auto file = file_of(user, id);
                if (!file) return file.error();
                if (*file) files.emplace_back(id, **file);
            }
            batch.Delete(h_.chunks(), keys::chunk(user, id));
            batch.Delete(h_.meta(), keys::chunk_size(user, id));
            batch.Delete(h_.meta(), keys::references(user, id));
            ++count;
            bytes += static_cast<std::int64_t>(meta->size);
        }
        if (count == 0) return {};
        batch.Merge(h_.meta(), keys::stats(user), keys::encode_stats({-count, -bytes}));
        auto removal = s_.quotas.hold_removal(user, static_cast<std::uint64_t>(bytes), [&] { return s_.stored_bytes(user); });
        if (!removal) return removal.error();
        if (auto c = h_.commit_unsynced(batch); !c) return c.error();
        removal->committed();
        result_.chunks += static_cast<std::uint64_t>(count);
        result_.bytes += static_cast<std::uint64_t>(bytes);
        return remove_files(user, files);
    }

    // The number of the file holding the chunk, when it has one.
    outcome<std::optional<std::uint64_t>> file_of(const uuid& user, const digest& id) {
        auto value = h_.get(h_.chunks(), keys::chunk(user, id));
        if (!value) return value.error();
        auto ref = *value ? decode_chunk_file_ref(id, **value) : std::nullopt;
        return ref ? std::optional<std::uint64_t>{ref->number} : std::nullopt;
    }

    // Removes the files of chunks whose removal was just committed, once
    // that is synced (a power cut must not bring back a reference to a
    // file that is gone).
    outcome<void> remove_files(const uuid& user, const std::vector<std::pair<digest, std::uint64_t>>& files) {
        if (files.empty()) return {};
        if (auto synced = h_.sync_wal(); !synced) return synced;
        s_.retire_files(user, files);
        return {};
    }

    rocksdb_store::impl& s_;
    db_handle& h_;
    const std::atomic<bool>* stop_;
    gc_result& result_;
    rules::gc_pacer pacer_;
    std::int64_t grace_cutoff_ = 0;      // stored (or re-sent) before this: past the grace period
    std::int64_t retention_cutoff_ = 0;  // committed before this: past the history retention
};

}  // namespace

outcome<gc_result> rocksdb_store::collect_garbage(const std::atomic<bool>* stop) {
    std::lock_guard one_pass(impl_->gc_pass);
    auto started = std::chrono::steady_clock::now();
    if (auto w = impl_->check_writable(); !w) return w.error();
    gc_result result;
    gc_pass pass(*impl_, stop, result);
    if (auto done = pass.run(); !done) return done.error();
    if (auto synced = impl_->handle->sync_wal(); !synced) return synced.error();
    impl_->remove_retired_files();
    result.duration = std::chrono::steady_clock::now() - started;
    return result;
}

std::chrono::milliseconds rocksdb_store::gc_grace() const { return impl_->gc_grace; }
std::chrono::milliseconds rocksdb_store::history_retention() const { return impl_->history_retention; }

}  // namespace chunklog::storage
