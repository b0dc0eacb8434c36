// The `task-sync` workload: one replica records N task operations and
// publishes them in small transactions (one sync per 10 new tasks); a fresh replica then syncs them all. Measures the fresh
// replica's sync and a listing of every task. Single-threaded.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

namespace chunklog::bench {

struct task_sync_result {
    std::size_t operations = 0;
    std::size_t tasks = 0;
    std::size_t transactions = 0;   // the writer published one per 10 tasks
    double publish_seconds = 0;     // first replica: all its syncs together
    double fresh_sync_seconds = 0;  // new replica: sync that pulls and applies everything
    double list_seconds = 0;        // new replica: reading every task
};

task_sync_result run_task_sync(const bench_options& options, std::size_t operations, token_book& tokens);

}  // namespace chunklog::bench
