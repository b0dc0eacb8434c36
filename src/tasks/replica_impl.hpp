// replica's internals, shared by replica.cpp and replica_sync.cpp: the local
// key layout, the RocksDB handle, and the read and staging steps. Not
// thread-safe, like replica.
#pragma once

#include <chunklog/tasks/replica.hpp>

#include <boost/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>

namespace chunklog {
namespace json = boost::json;

// Local key layout (one RocksDB directory per replica):
//   "b"          last synced transaction id (16 bytes)
//   "p"          unsynced local operations (operation chunk format)
//   "f"          the publish in flight: {"id", "count"}
//   "w"          working set: JSON array of task ids or null
//   "t" + id     a task: JSON object of string properties
namespace replica_keys {
inline const std::string base = "b";
inline const std::string pending = "p";
inline const std::string inflight = "f";
inline const std::string working_set = "w";
inline std::string task(const uuid& id) { return "t" + std::string(id.raw()); }
}  // namespace replica_keys

struct inflight {
    uuid id;
    std::size_t count = 0;  // leading pending operations it carries
};

inline error storage_error(const rocksdb::Status& s) { return make_error(errc::internal, "replica store: " + s.ToString()); }

inline bool is_pending(const task_properties* props) {
    if (props == nullptr) return false;
    auto it = props->find("status");
    return it != props->end() && it->second == "pending";
}

// Keeps numbers of tasks still pending, frees the others, gives new pending
// tasks the lowest free numbers.
inline void update_working_set(std::vector<std::optional<uuid>>& ws, const task_set& tasks, const std::set<uuid>& touched) {
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
        return *v ? uuid::from_bytes(**v).value_or(root_id) : root_id;
    }

    outcome<std::vector<operation>> pending() const {
        auto v = get(replica_keys::pending);
        if (!v) return v.error();
        if (!*v) return std::vector<operation>{};
        return decode_operations(**v);
    }

    outcome<std::optional<inflight>> in_flight() const {
        auto v = get(replica_keys::inflight);
        if (!v) return v.error();
        if (!*v) return std::optional<inflight>{};
        auto o = json::parse(**v).as_object();
        return std::optional<inflight>{inflight{*uuid::parse(o.at("id").as_string()), o.at("count").to_number<std::size_t>()}};
    }

    outcome<std::vector<std::optional<uuid>>> working_set() const {
        auto v = get(replica_keys::working_set);
        if (!v) return v.error();
        std::vector<std::optional<uuid>> ws;
        if (!*v) return ws;
        auto items = json::parse(**v);  // kept alive for the loop
        for (const auto& item : items.as_array())
            ws.push_back(item.is_string() ? uuid::parse(item.get_string()) : std::nullopt);
        return ws;
    }

    static task_properties decode_task(std::string_view text) {
        task_properties props;
        auto parsed = json::parse(text);  // kept alive for the loop
        for (const auto& [k, v] : parsed.as_object()) props[std::string(k)] = std::string(v.as_string());
        return props;
    }

    outcome<std::optional<task_properties>> task(const uuid& id) const {
        auto v = get(replica_keys::task(id));
        if (!v) return v.error();
        if (!*v) return std::optional<task_properties>{};
        return std::optional{decode_task(**v)};
    }

    outcome<task_set> all_tasks() const {
        task_set out;
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
        for (it->Seek("t"); it->Valid() && it->key().starts_with("t"); it->Next())
            out.emplace(*uuid::from_bytes(it->key().ToStringView().substr(1)), decode_task(it->value().ToStringView()));
        if (!it->status().ok()) return storage_error(it->status());
        return out;
    }

    // Records, durably, the publish about to be sent.
    outcome<void> record_in_flight(const uuid& id, std::size_t count) {
        rocksdb::WriteBatch batch;
        batch.Put(replica_keys::inflight, json::serialize(json::object{{"id", id.to_string()}, {"count", count}}));
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
            json::object o;
            for (const auto& [k, v] : it->second) o[k] = v;
            batch.Put(replica_keys::task(id), json::serialize(o));
        }
        auto ws = working_set();
        if (!ws) return ws.error();
        update_working_set(*ws, tasks, touched);
        json::array items;
        for (const auto& slot : *ws) items.push_back(slot ? json::value(slot->to_string()) : json::value(nullptr));
        batch.Put(replica_keys::working_set, json::serialize(items));
        batch.Put(replica_keys::pending, encode_operations(pending_ops));
        return {};
    }
};


}  // namespace chunklog
