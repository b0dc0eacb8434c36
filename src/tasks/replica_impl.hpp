// replica's internals, shared by replica.cpp and replica_sync.cpp: the
// RocksDB handle and the checked read and staging steps (the key layout and
// value formats are in replica_codec.hpp). Not thread-safe, like replica.
#pragma once

#include "tasks/replica_codec.hpp"

#include <chunklog/tasks/replica.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

namespace chunklog {

inline error storage_error(const rocksdb::Status& s) { return make_error(errc::internal, "replica store: " + s.ToString()); }

inline bool is_pending(const task_properties* props) {
    if (props == nullptr) return false;
    auto it = props->find("status");
    return it != props->end() && it->second == "pending";
}

// Keeps numbers of tasks still pending, frees the others, gives new pending
// tasks the lowest free numbers, in the order of `touched`. Costs
// O(slots + touched), whatever their sizes.
inline void update_working_set(working_set_slots& ws, const task_set& tasks, const std::vector<uuid>& touched) {
    std::unordered_map<uuid, std::size_t, id_hash> slot_of;
    std::set<std::size_t> free;
    for (std::size_t i = 0; i < ws.size(); ++i) {
        if (ws[i]) slot_of.emplace(*ws[i], i);
        else free.insert(i);
    }
    for (const auto& id : touched) {
        auto it = tasks.find(id);
        bool pending = is_pending(it == tasks.end() ? nullptr : &it->second);
        auto slot = slot_of.find(id);
        if (!pending && slot != slot_of.end()) {
            ws[slot->second] = std::nullopt;
            free.insert(slot->second);
            slot_of.erase(slot);
        }
        if (pending && slot == slot_of.end()) {
            std::size_t i = ws.size();
            if (!free.empty()) {
                i = *free.begin();
                free.erase(free.begin());
                ws[i] = id;
            } else {
                ws.push_back(id);
            }
            slot_of.emplace(id, i);
        }
    }
    while (!ws.empty() && !ws.back()) ws.pop_back();
}

struct replica::impl {
    std::unique_ptr<rocksdb::DB> db;

    outcome<std::optional<std::string>> get(const std::string& key) const {
        std::string value;
        auto s = db->Get(rocksdb::ReadOptions{}, key, &value);
        if (s.IsNotFound()) return std::optional<std::string>{};
        if (!s.ok()) return storage_error(s);
        return std::optional<std::string>{std::move(value)};
    }

    outcome<void> write(rocksdb::WriteBatch& batch) {
        rocksdb::WriteOptions o;
        o.sync = true;
        auto s = db->Write(o, &batch);
        if (!s.ok()) return storage_error(s);
        return {};
    }

    // Calls `visit` with each key and value starting with `prefix`, in key order.
    outcome<void> scan(const std::string& prefix,
                       const std::function<outcome<void>(std::string_view, std::string_view)>& visit) const {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
            if (auto r = visit(it->key().ToStringView(), it->value().ToStringView()); !r) return r;
        if (!it->status().ok()) return storage_error(it->status());
        return {};
    }

    // Opens the current format in place: a format 1 replica's unsynced
    // operations move from "p" to one key each, in one synced write with the
    // format record (format 2 needs only the record); a replica of a newer
    // format is refused, unchanged.
    outcome<void> upgrade() {
        auto format = get(replica_keys::format);
        if (!format) return format.error();
        if (*format) {
            auto n = decode_format(**format);
            if (!n) return n.error();
            if (*n > replica_format)
                return make_error(errc::internal, "this replica is in format " + std::to_string(*n) +
                                                      ", newer than this version of chunklog reads (" +
                                                      std::to_string(replica_format) + "); upgrade chunklog");
            if (*n == replica_format) return {};
            // Format 2 differs only in how unsynced operations are written,
            // and both ways are read: recording the format is the upgrade.
            rocksdb::WriteBatch batch;
            batch.Put(replica_keys::format, std::to_string(replica_format));
            return write(batch);
        }
        rocksdb::WriteBatch batch;
        auto old = get(replica_keys::old_pending);
        if (!old) return old.error();
        if (*old) {
            auto ops = decode_old_pending(**old);
            if (!ops) return ops.error();
            for (std::size_t i = 0; i < ops->size(); ++i)
                batch.Put(replica_keys::pending(i), encode_pending((*ops)[i]));
            batch.Delete(replica_keys::old_pending);
        }
        batch.Put(replica_keys::format, std::to_string(replica_format));
        return write(batch);
    }

    outcome<uuid> base() const {
        auto v = get(replica_keys::base);
        if (!v) return v.error();
        if (!*v) return root_id;
        return decode_base(**v);
    }

    outcome<std::vector<pending_operation>> pending() const {
        std::vector<pending_operation> out;
        auto scanned = scan(replica_keys::pending_prefix, [&](std::string_view key, std::string_view value) -> outcome<void> {
            auto n = decode_pending_key(key);
            if (!n) return n.error();
            auto op = decode_pending(value);
            if (!op) return op.error();
            out.push_back({*n, std::move(*op)});
            return {};
        });
        if (!scanned) return scanned.error();
        return out;
    }

    outcome<std::size_t> pending_count() const {
        std::size_t n = 0;
        auto scanned = scan(replica_keys::pending_prefix, [&](std::string_view key, std::string_view) -> outcome<void> {
            if (auto k = decode_pending_key(key); !k) return k.error();
            ++n;
            return {};
        });
        if (!scanned) return scanned.error();
        return n;
    }

    // The key number after the last unsynced operation's (0 when none): one
    // seek, whatever their number.
    outcome<std::uint64_t> next_pending_key() const {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
        it->SeekForPrev(replica_keys::pending_prefix + std::string(8, '\xff'));
        if (!it->status().ok()) return storage_error(it->status());
        if (!it->Valid() || !it->key().starts_with(replica_keys::pending_prefix)) return std::uint64_t{0};
        auto n = decode_pending_key(it->key().ToStringView());
        if (!n) return n.error();
        if (*n == UINT64_MAX) return corrupt("no key left for another unsynced operation");
        return *n + 1;
    }

    outcome<std::optional<inflight>> in_flight() const {
        auto v = get(replica_keys::inflight);
        if (!v) return v.error();
        if (!*v) return std::optional<inflight>{};
        auto f = decode_inflight(**v);
        if (!f) return f.error();
        return std::optional<inflight>{*f};
    }

    outcome<snapshot_urgency> wanted_snapshot() const {
        auto v = get(replica_keys::urgency);
        if (!v) return v.error();
        if (!*v) return snapshot_urgency::none;
        if (**v == "low") return snapshot_urgency::low;
        if (**v == "high") return snapshot_urgency::high;
        return corrupt("the snapshot asked for is neither \"low\" nor \"high\"");
    }

    outcome<working_set_slots> working_set() const {
        auto v = get(replica_keys::working_set);
        if (!v) return v.error();
        if (!*v) return working_set_slots{};
        return decode_working_set(**v);
    }

    outcome<std::optional<task_properties>> task(const uuid& id) const {
        auto v = get(replica_keys::task(id));
        if (!v) return v.error();
        if (!*v) return std::optional<task_properties>{};
        auto props = decode_task(**v);
        if (!props) return props.error();
        return std::optional<task_properties>{std::move(*props)};
    }

    outcome<task_set> all_tasks() const {
        task_set out;
        auto scanned = scan(replica_keys::task_prefix, [&](std::string_view key, std::string_view value) -> outcome<void> {
            auto id = decode_task_key(key);
            if (!id) return id.error();
            auto props = decode_task(value);
            if (!props) return props.error();
            out.emplace(*id, std::move(*props));
            return {};
        });
        if (!scanned) return scanned.error();
        return out;
    }

    // Records, durably, the publish about to be sent.
    outcome<void> record_in_flight(const inflight& f) {
        rocksdb::WriteBatch batch;
        batch.Put(replica_keys::inflight, encode_inflight(f));
        return write(batch);
    }

    // Adds the touched tasks (as they are in `tasks`) and the working set to
    // one batch. With `replace_all`, `tasks` is the whole task set: every
    // stored task goes first, and `touched` must name every task of
    // `tasks` and every task the working set numbers.
    outcome<void> stage_tasks(rocksdb::WriteBatch& batch, const task_set& tasks, const std::vector<uuid>& touched,
                              bool replace_all = false) {
        if (replace_all) batch.DeleteRange(replica_keys::task_prefix, replica_keys::task_end);
        for (const auto& id : touched) {
            auto it = tasks.find(id);
            if (it == tasks.end()) {
                if (!replace_all) batch.Delete(replica_keys::task(id));
                continue;
            }
            batch.Put(replica_keys::task(id), encode_task(it->second));
        }
        auto ws = working_set();
        if (!ws) return ws.error();
        update_working_set(*ws, tasks, touched);
        batch.Put(replica_keys::working_set, encode_working_set(*ws));
        return {};
    }
};

}  // namespace chunklog
