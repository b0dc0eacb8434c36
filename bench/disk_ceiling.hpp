// The `rocksdb-sync` workload: the disk's ceiling for durable writes, with
// no HTTP in the way. N threads (options.connections) each put values of
// options.value_size into a fresh RocksDB directory with WriteOptions::sync;
// with one thread every put waits for its own fsync, with many RocksDB's
// write group lets one fsync cover every writer waiting at that moment.
// Call from one thread; it starts and joins its own writers.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/runner.hpp"

namespace chunklog::bench {

run_stats run_rocksdb_sync(const bench_options& options);

}  // namespace chunklog::bench
