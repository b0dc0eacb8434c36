// The raw RocksDB workloads: ceilings for durable writes, with no HTTP in
// the way, into a fresh RocksDB directory with WriteOptions::sync.
// `rocksdb-sync`: N threads (options.connections) each put values of
// options.value_size; with one thread every put waits for its own fsync,
// with many RocksDB's write group lets one fsync cover every writer waiting
// at that moment. `rocksdb-publish`: each thread is one user, and each of
// its writes is the WriteBatch chunklogd's store writes for a publish of one
// chunk of options.value_size (eight entries in two column families).
// `rocksdb-publish-grouped`: the same publishes, one per user and round,
// written the way chunklogd's commit pipeline writes them: one thread puts
// one publish of every user (options.connections) into one WriteBatch and
// writes it synced; every publish of a round counts its time.
// Call from one thread; it starts and joins its own writers.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/runner.hpp"

namespace chunklog::bench {

// `workload` is "rocksdb-sync", "rocksdb-publish" or "rocksdb-publish-grouped".
run_stats run_rocksdb_ceiling(const bench_options& options, const std::string& workload);

}  // namespace chunklog::bench
