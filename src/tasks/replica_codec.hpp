// How a replica's local state is written in its RocksDB directory, and
// checked decoding of it: a value that does not decode (a damaged or
// foreign directory) is errc::internal "corrupt replica: ...", never a
// throw or undefined behaviour. Pure functions; thread-safe.
//
// Local key layout (one RocksDB directory per replica):
//   "b"          last synced transaction id (16 bytes)
//   "p"          unsynced local operations (operation chunk format)
//   "f"          the publish in flight: {"id", "count"}
//   "w"          working set: JSON array of task ids or null
//   "t" + id     a task: JSON object of string properties
#pragma once

#include <chunklog/tasks/operations.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog {

namespace replica_keys {
inline const std::string base = "b";
inline const std::string pending = "p";
inline const std::string inflight = "f";
inline const std::string working_set = "w";
inline const std::string task_prefix = "t";
inline std::string task(const uuid& id) { return task_prefix + std::string(id.raw()); }
}  // namespace replica_keys

struct inflight {
    uuid id;
    std::size_t count = 0;  // leading pending operations it carries
};

using working_set_slots = std::vector<std::optional<uuid>>;

// errc::internal "corrupt replica: <what>".
error corrupt(std::string_view what);

outcome<uuid> decode_base(std::string_view raw);
outcome<std::vector<operation>> decode_pending(std::string_view chunk);
outcome<inflight> decode_inflight(std::string_view text);
outcome<working_set_slots> decode_working_set(std::string_view text);
outcome<task_properties> decode_task(std::string_view text);
outcome<uuid> decode_task_key(std::string_view key);  // "t" + 16 bytes

std::string encode_inflight(const inflight& f);
std::string encode_working_set(const working_set_slots& ws);
std::string encode_task(const task_properties& props);

}  // namespace chunklog
