// The `pull` workload: catch up N one-chunk transactions from ROOT the
// prototype's way (listing, then one GET per transaction and per chunk)
// and through GET log, against the same server in one run, through the
// public client API. Single-threaded.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chunklog::bench {

// Each pull is timed this many times (once with --rtt-ms); the median is reported.
inline constexpr int pull_repetitions = 3;

struct pull_result {
    std::string method;
    std::uint64_t transactions = 0;
    std::uint64_t requests = 0;
    double seconds = 0;
    std::uint64_t link_bytes = 0;  // through --rtt-ms's relay, both ways (0 without it)
};

// Publishes `count` transactions for a fresh user, then pulls them each way
// (median of pull_repetitions runs).
std::vector<pull_result> run_pull_comparison(const bench_options& options, std::size_t count, token_book& tokens);

}  // namespace chunklog::bench
