// How a replica's local state is written in its RocksDB directory, and
// checked decoding of it: a value that does not decode (a damaged or
// foreign directory) is errc::internal "corrupt replica: ...", never a
// throw or undefined behaviour. Pure functions; thread-safe.
//
// Local key layout (one RocksDB directory per replica), format 3:
//   "v"          the replica's format: "3" (absent: format 1, upgraded in
//                place when the replica opens)
//   "b"          last synced transaction id (16 bytes)
//   "o" + n      one unsynced local operation: TaskChampion's JSON of it
//                (format 2: the legacy operation chunk's object, still
//                read); n is 8 bytes, big-endian, so the keys keep the
//                operations' order
//   "f"          the publish in flight: {"id", "count", "last"}; its
//                versions, from transaction `id` to `last`, carry the first
//                `count` unsynced operations
//   "u"          the snapshot the server asked for and not yet written:
//                "low" or "high" (absent: none)
//   "w"          working set: JSON array of task ids or null
//   "t" + id     a task: JSON object of string properties
// Format 1 kept every unsynced operation in one value, "p" (an operation
// chunk), rewritten whole on each change.
#pragma once

#include <chunklog/tasks/operations.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog {

inline constexpr int replica_format = 3;

namespace replica_keys {
inline const std::string format = "v";
inline const std::string base = "b";
inline const std::string pending_prefix = "o";
inline const std::string inflight = "f";
inline const std::string urgency = "u";
inline const std::string working_set = "w";
inline const std::string task_prefix = "t";
inline const std::string task_end = "u";  // just past every "t" key
inline const std::string old_pending = "p";  // format 1
inline std::string task(const uuid& id) { return task_prefix + std::string(id.raw()); }
std::string pending(std::uint64_t n);
}  // namespace replica_keys

// An unsynced operation and the number in its key.
struct pending_operation {
    std::uint64_t key = 0;
    operation op;
};

struct inflight {
    uuid id;                // its first transaction
    std::size_t count = 0;  // leading pending operations it carries
    uuid last;              // its last transaction (the HEAD it advances to)
};

using working_set_slots = std::vector<std::optional<uuid>>;

// errc::internal "corrupt replica: <what>".
error corrupt(std::string_view what);

outcome<uuid> decode_base(std::string_view raw);
outcome<std::vector<operation>> decode_old_pending(std::string_view chunk);  // format 1's "p"
outcome<std::uint64_t> decode_pending_key(std::string_view key);              // "o" + 8 bytes
outcome<operation> decode_pending(std::string_view text);
outcome<int> decode_format(std::string_view text);
outcome<inflight> decode_inflight(std::string_view text);
outcome<working_set_slots> decode_working_set(std::string_view text);
outcome<task_properties> decode_task(std::string_view text);
outcome<uuid> decode_task_key(std::string_view key);  // "t" + 16 bytes

std::string encode_pending(const operation& op);
std::string encode_inflight(const inflight& f);
std::string encode_working_set(const working_set_slots& ws);
std::string encode_task(const task_properties& props);

}  // namespace chunklog
