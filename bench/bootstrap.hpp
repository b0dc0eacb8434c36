// The `bootstrap` workload (issue 11, "Performance"): a new replica
// starting from the user's snapshot (GET log?snapshot=1: the snapshot's
// chunks, then the transactions after it) against one replaying the whole
// history from ROOT (GET log: every transaction and its chunks), through
// the client library (pull_with_snapshot against pull), for a fresh user on
// the run's server:
// in the formats the task replica and Taskwarrior 3 write
// (chunklog/tasks/taskchampion.hpp, sealed as chunklog/tasks/envelope.hpp
// says, with one key derived once, outside the timings):
// 1. --bootstrap-transactions transactions are published in batches, each
//    one chunk: a TaskChampion history segment sealed to its parent. They
//    add --bootstrap-tasks tasks (create, description, status, entry),
//    evenly spread (default: one in every transaction, the largest state
//    for the history), each sets the priority of an existing task, and
//    every third completes one;
// 2. new clients replay the history from ROOT, opening every segment and
//    applying its operations to tasks in memory;
// 3. the resulting tasks are written as the user's snapshot at HEAD (PUT
//    snapshots/{id}): one chunk, the zlib-compressed TaskChampion snapshot
//    sealed to HEAD, as a replica does;
// 4. new clients bootstrap from the snapshot (open, inflate, decode), and
//    must end with the same tasks.
// Each way is timed bootstrap_repetitions times and the median reported,
// with the requests its client sent and the body bytes the server's
// /metrics counted (headers not included): /metrics needs the admin token
// (--spawn, or --token with the admin token). Single-threaded; call from
// main's thread, with nothing else loading the server.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

#include <cstdint>
#include <string>

namespace chunklog::bench {

inline constexpr int bootstrap_repetitions = 3;

struct bootstrap_run {
    double seconds = 0;            // from the first request to the last task applied
    std::uint64_t requests = 0;    // its client's
    std::uint64_t bytes_in = 0;    // response body bytes it received
    std::uint64_t bytes_out = 0;   // request body bytes it sent
    std::size_t transactions = 0;  // pulled and applied
    std::size_t operations = 0;    // of those
    std::size_t tasks = 0;         // afterwards
    bool from_snapshot = false;
};

struct bootstrap_result {
    std::size_t transactions = 0;  // the history
    std::size_t operations = 0;    // in it
    double build_seconds = 0;      // publishing it
    std::size_t snapshot_chunks = 0;
    std::uint64_t snapshot_bytes = 0;
    double snapshot_write_seconds = 0;  // encoding and PUT snapshots/{id}
    bootstrap_run replay, snapshot;
    double speedup() const;  // replay time over snapshot time
};

// `metrics_token` may read GET /metrics ("" under --auth none).
bootstrap_result run_bootstrap(const bench_options& options, token_book& tokens, const std::string& metrics_token);

void report_bootstrap(const bootstrap_result& result, bool json);

}  // namespace chunklog::bench
