// Task operations, the unit that task replicas exchange through chunklog:
// Create(uuid), Delete(uuid), Update(uuid, property, value-or-null,
// timestamp). Includes the operational transform that lets two replicas
// that applied different operations reach the same tasks, and the versioned
// chunk format that carries a batch of operations. Pure values and
// functions; thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chunklog {

struct operation {
    enum class kind { create, remove, update };

    kind type = kind::create;
    uuid task;
    std::string property;              // update only
    std::optional<std::string> value;  // update only; nullopt removes the property
    std::int64_t timestamp_ns = 0;     // update only; nanoseconds since the epoch (UTC)

    static operation create(const uuid& t) { return {kind::create, t, {}, std::nullopt, 0}; }
    static operation remove(const uuid& t) { return {kind::remove, t, {}, std::nullopt, 0}; }
    static operation update(const uuid& t, std::string property, std::optional<std::string> value,
                            std::int64_t timestamp_ns) {
        return {kind::update, t, std::move(property), std::move(value), timestamp_ns};
    }

    friend bool operator==(const operation&, const operation&) = default;
};

using task_properties = std::map<std::string, std::string>;
using task_set = std::map<uuid, task_properties>;

// Applies one operation: Create is idempotent, Delete removes the task, an
// Update of a missing task is dropped, a null value removes the property.
void apply_operation(task_set& tasks, const operation& op);

// TaskChampion's operational transform, exactly (Taskwarrior 3 replicas
// rebase with it, so any other rule would diverge from them): given
// `server`, an operation of the server's chain, and `local`, an unsynced
// local one, both applied to the same state, returns (server', local') such
// that apply(apply(S, server), local') == apply(apply(S, local), server').
// nullopt means "nothing to do". Rules, for the same task:
//   Create/Create, Delete/Delete: both dropped (already in effect);
//   Create vs Delete, either side: the Create is kept (the task exists);
//   Create vs Update: the Update is kept;
//   Update vs Delete: the Delete wins, the Update is dropped;
//   Update vs Update of one property: equal values: both dropped; else the
//   local one only if its timestamp is later, the server's otherwise (a tie
//   goes to the server's, which every replica sees first).
std::pair<std::optional<operation>, std::optional<operation>> transform(const operation& server, const operation& local);

// The legacy plaintext formats of earlier releases (docs/operations.md),
// still read by the replica, which now writes TaskChampion's
// (tasks/taskchampion.hpp). Operation chunk format version 1: one JSON
// object {"format": "chunklog-task-ops", "version": 1, "operations": [...]},
// timestamps in milliseconds (encode_operations drops finer precision).
inline constexpr int operations_format_version = 1;
std::string encode_operations(const std::vector<operation>& ops);
outcome<std::vector<operation>> decode_operations(std::string_view chunk);

// Legacy snapshot chunk format version 1: a whole task set as
// one or more chunks, each one JSON object {"format":
// "chunklog-task-snapshot", "version": 1, "tasks": {uuid: {property:
// value}}} holding some of the tasks; the set is their union, whatever the
// order. encode_snapshot is canonical (the same tasks give the same chunks)
// and gives at least one chunk; decode_snapshot refuses another format or
// version, and a task in two chunks (errc::bad_request).
inline constexpr int snapshot_format_version = 1;
std::vector<std::string> encode_snapshot(const task_set& tasks);
outcome<task_set> decode_snapshot(std::span<const std::string_view> chunks);

}  // namespace chunklog
