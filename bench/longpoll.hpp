// The `longpoll` workload: N connections long-poll one user's HEAD, one
// advance wakes them all; measures each waiter's wake-up latency from the
// advance being sent, and the server's memory while they wait.
// Single-threaded.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

#include <functional>
#include <string>
#include <vector>

namespace chunklog::bench {

struct longpoll_result {
    std::string workload = "longpoll";
    std::size_t waiters = 0;
    std::size_t woken = 0;
    std::vector<double> wake_ms;  // sorted
    long rss_idle_kib = 0;
    long rss_waiting_kib = 0;
};

// `server_rss` reads the server's resident memory (0 when unknown). Every
// waiter and the advance carry the polled user's token from `tokens`.
longpoll_result run_longpoll(const bench_options& options, token_book& tokens, const std::function<long()>& server_rss);

}  // namespace chunklog::bench
