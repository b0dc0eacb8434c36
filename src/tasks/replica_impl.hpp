// replica's internals, shared by replica.cpp and replica_sync.cpp: the
// RocksDB handle and the checked read and staging steps (the key layout and
// value formats are in replica_codec.hpp). Not thread-safe, like replica.
#pragma once

#include "tasks/replica_codec.hpp"

#include <chunklog/tasks/replica.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>

namespace chunklog {

inline error storage_error(const rocksdb::Status& s) { return make_error(errc::internal, "replica store: " + s.ToString()); }

inline bool is_pending(const task_properties* props) {
    if (props == nullptr) return false;
    auto it = props->find("status");
    return it != props->end() && it->second == "pending";
}

// Keeps numbers of tasks still pending, frees the others, gives new pending
// tasks the lowest free numbers.
inline void update_working_set(working_set_slots& ws, const task_set& tasks, const std::set<uuid>& touched) {
    for (const auto& id : touched) {
        auto it = tasks.find(id);
        bool pending = is_pending(it == tasks.end() ? nullptr : &it->second);
        auto slot = std::find(ws.begin(), ws.end(), std::optional<uuid>(id));
        if (!pending && slot != ws.end()) *slot = std::nullopt;
        if (pending && slot == ws.end()) {
            auto free = std::find(ws.begin(), ws.end(), std::nullopt);
            if (free != ws.end()) *free = id;
            else ws.push_back(id);
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

    outcome<uuid> base() const {
        auto v = get(replica_keys::base);
        if (!v) return v.error();
        if (!*v) return root_id;
        return decode_base(**v);
    }

    outcome<std::vector<operation>> pending() const {
        auto v = get(replica_keys::pending);
        if (!v) return v.error();
        if (!*v) return std::vector<operation>{};
        return decode_pending(**v);
    }

    outcome<std::optional<inflight>> in_flight() const {
        auto v = get(replica_keys::inflight);
        if (!v) return v.error();
        if (!*v) return std::optional<inflight>{};
        auto f = decode_inflight(**v);
        if (!f) return f.error();
        return std::optional<inflight>{*f};
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
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
        for (it->Seek(replica_keys::task_prefix); it->Valid() && it->key().starts_with(replica_keys::task_prefix);
             it->Next()) {
            auto id = decode_task_key(it->key().ToStringView());
            if (!id) return id.error();
            auto props = decode_task(it->value().ToStringView());
            if (!props) return props.error();
            out.emplace(*id, std::move(*props));
        }
        if (!it->status().ok()) return storage_error(it->status());
        return out;
    }

    // Records, durably, the publish about to be sent.
    outcome<void> record_in_flight(const uuid& id, std::size_t count) {
        rocksdb::WriteBatch batch;
        batch.Put(replica_keys::inflight, encode_inflight({id, count}));
        return write(batch);
    }

    // Adds the touched tasks (as they are in `tasks`), the working set and
    // the pending operations to one batch.
    outcome<void> stage_state(rocksdb::WriteBatch& batch, const task_set& tasks, const std::set<uuid>& touched,
                              const std::vector<operation>& pending_ops) {
        for (const auto& id : touched) {
            auto it = tasks.find(id);
            if (it == tasks.end()) {
                batch.Delete(replica_keys::task(id));
                continue;
            }
            batch.Put(replica_keys::task(id), encode_task(it->second));
        }
        auto ws = working_set();
        if (!ws) return ws.error();
        update_working_set(*ws, tasks, touched);
        batch.Put(replica_keys::working_set, encode_working_set(*ws));
        batch.Put(replica_keys::pending, encode_operations(pending_ops));
        return {};
    }
};

}  // namespace chunklog
