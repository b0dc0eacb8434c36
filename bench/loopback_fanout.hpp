// The `loopback-fanout` workload: the ceiling of the longpoll row, the same
// burst with no HTTP server. A child process stands in for chunklogd: it
// accepts --connections waiters, reads each one's request, and when told,
// its threads (one per core, as chunklogd's I/O threads) write every waiter
// an answer of the size chunklogd's long-poll answer has, one send per
// socket and nothing else. The waiters are the longpoll workload's, read the
// same way. What it measures is what 10,000 answers cost this machine's
// loopback TCP and the load generator, with no server work in the way.
// Call from one thread; it forks the child and waits for it.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/longpoll.hpp"

namespace chunklog::bench {

// Throws std::runtime_error when the child cannot be started.
longpoll_result run_loopback_fanout(const bench_options& options);

}  // namespace chunklog::bench
