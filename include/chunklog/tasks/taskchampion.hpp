// TaskChampion's plaintext formats, which Taskwarrior 3 reads and writes
// (sealed in the envelope of tasks/envelope.hpp):
//   - a history segment, one version: the compact JSON
//     {"operations":[{"Create":{"uuid":U}}, {"Delete":{"uuid":U}},
//     {"Update":{"uuid":U,"property":P,"value":V|null,"timestamp":T}}]},
//     T an RFC 3339 UTC time with up to nine fractional digits;
//   - a snapshot: a zlib stream of the JSON object {U: {P: V}} of all tasks.
// Decoders refuse anything else with errc::bad_request naming what is wrong
// (Taskwarrior itself aborts on a malformed segment). Pure functions;
// thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/tasks/operations.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog {

// RFC 3339 in UTC with a Z, and 0, 3, 6 or 9 fractional digits as the value
// needs (as TaskChampion prints), from nanoseconds since the epoch.
std::string format_rfc3339(std::int64_t ns);
// Any RFC 3339 time (any offset, any number of fractional digits, nine
// kept); nullopt when malformed or outside the years 1678 to 2261.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// One operation as TaskChampion's JSON (a SyncOp), and back.
std::string encode_sync_op(const operation& op);
outcome<operation> decode_sync_op(std::string_view json_text);
std::string encode_history_segment(std::span<const operation> ops);
outcome<std::vector<operation>> decode_history_segment(std::string_view plaintext);

// TaskChampion's batching of unsynced operations into versions: greedily,
// while the operations' JSON sizes add up to at most 1,000,000 bytes (the
// first operation of a batch is always taken). No batch is empty.
inline constexpr std::size_t max_version_operation_bytes = 1'000'000;
std::vector<std::vector<operation>> batch_into_versions(std::span<const operation> ops);

std::string encode_taskchampion_snapshot(const task_set& tasks);
// Refuses a stream that inflates past max_snapshot_bytes.
inline constexpr std::size_t max_snapshot_bytes = 1ull << 30;
outcome<task_set> decode_taskchampion_snapshot(std::string_view compressed);

}  // namespace chunklog
