// The `gc` workload (issue 11, "Performance"): garbage collection of a large
// store, on a chunklogd of its own started with `--gc-grace 1s --gc-interval
// 1d`, so that only POST /admin/gc runs a pass.
//
// 1. Builds the store with batched POST publish: --gc-transactions
//    transactions over --users users, each user a committed chain where
//    every committed transaction has three losing branches of three
//    transactions each beside it (9 dead for 1 committed: 90% dead), every
//    transaction with one chunk of its own (--size bytes, default 256).
// 2. Loads the store at --rate requests/s over --connections connections:
//    half GET chunks of committed transactions (which the pass keeps), half
//    publish one transaction of --batch new chunks on their user's HEAD.
// 3. Measures that load for --duration s before the pass ("before"), for
//    the whole of one pass run by POST /admin/gc ("during"), and for
//    --duration s after it ("after"); the pass's own figures come from its
//    answer and /metrics (admin token).
// Single-threaded from the caller's view (the build uses a thread per user
// internally); call from main's thread.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/mixed_load.hpp"
#include "bench/tokens.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chunklog::bench {

struct gc_phase {
    std::string name;  // before, during, after
    window_summary get, publish;
};

struct gc_result {
    unsigned users = 0;
    std::uint64_t transactions = 0;  // in the built store
    std::uint64_t dead = 0;          // of those
    std::size_t chunk_size = 0;
    double build_seconds = 0;
    // The pass: from POST /admin/gc sent to its answer, and as the server timed it.
    double pass_seconds = 0;
    double server_pass_seconds = 0;
    std::uint64_t examined = 0;  // records the pass looked at (chunklog_gc_examined_total)
    std::uint64_t removed_transactions = 0, removed_chunks = 0, freed_bytes = 0;  // its answer
    double rate = 0;
    unsigned get_connections = 0, publish_connections = 0;
    std::vector<gc_phase> phases;
};

// The flags the workload's own chunklogd needs.
std::vector<std::string> gc_server_args();

// `tokens` must hold the admin token of the server options point at.
gc_result run_gc(const bench_options& options, token_book& tokens);

void report_gc(const gc_result& result, bool json);

}  // namespace chunklog::bench
