// Versions as Taskwarrior 3 writes them, for the TaskChampion workloads
// (taskchampion, taskwarrior-sync): the operations of one `task add`, and
// that history segment sealed to its parent (chunklog/tasks/taskchampion.hpp,
// chunklog/tasks/envelope.hpp). Pure functions; thread-safe.
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/tasks/envelope.hpp>
#include <chunklog/tasks/operations.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chunklog::bench {

// The secret the benchmark's replicas share (the key also depends on the user).
inline constexpr const char* bench_encryption_secret = "the benchmark's encryption secret";

// What `task add DESCRIPTION` at `now_ns` sends: Create, then description,
// status pending, entry and modified (epoch seconds, as Taskwarrior writes dates).
std::vector<operation> task_add_operations(const uuid& task, const std::string& description, std::int64_t now_ns);

// One version holding `task_add_operations(task, "task N of the benchmark", now_ns)`,
// sealed to `parent`: the bytes add-version sends.
std::string task_add_version(const sealing_key& key, const uuid& parent, const uuid& task, std::uint64_t n,
                             std::int64_t now_ns);

// The body of a POST publish of `versions` (transaction ids and their
// sealed bytes, parent-first from `parent`), advancing HEAD to the last.
std::string publish_versions_body(const uuid& parent, const std::vector<std::pair<uuid, std::string>>& versions);

// Nanoseconds since the epoch, now (system clock).
std::int64_t now_ns();

}  // namespace chunklog::bench
