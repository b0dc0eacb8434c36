// The `tc-pull` workload: a Taskwarrior 3 replica catching up --count
// versions, TaskChampion's way (one get-child-version request per version,
// as `task sync` asks) and through one GET log pass (1000 per page), against
// the same chain on the same server. Worth running across a wide-area
// round trip (--rtt-ms), where the requests, not the bytes, set the time.
// Single-threaded.
#pragma once

#include "bench/pull_compare.hpp"
#include "bench/tokens.hpp"

#include <cstddef>
#include <vector>

namespace chunklog::bench {

// Publishes `count` sealed task versions for a fresh user, then pulls them each way.
std::vector<pull_result> run_taskchampion_pull(std::size_t count, token_book& tokens);

}  // namespace chunklog::bench
