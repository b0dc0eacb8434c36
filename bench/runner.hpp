// Runs one workload with N connections on one client thread: prepare, warm
// up, then measure for the configured duration. Single-threaded; call from
// main.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chunklog::bench {

struct run_stats {
    std::string workload;
    unsigned connections = 0;
    std::size_t value_size = 0;
    double seconds = 0;
    std::uint64_t ops = 0;
    std::uint64_t items = 0;  // documents or operations: ops times the batch size
    std::uint64_t bytes = 0;
    std::uint64_t conflicts = 0;
    std::vector<std::uint32_t> latencies_us;     // sorted after the run
    std::map<std::string, std::uint64_t> errors;  // by kind
    long server_rss_before_kib = 0;
    long server_rss_after_kib = 0;

    double percentile_ms(double p) const;
};

// Each connection carries the token of its workload user from `tokens`.
// Connection i goes to nodes[i % nodes.size()] (several nodes on one
// store), or to tokens.link() when `nodes` is empty.
run_stats run_workload(const bench_options& options, const std::string& name, token_book& tokens,
                       const std::vector<const server_link*>& nodes = {});

}  // namespace chunklog::bench
