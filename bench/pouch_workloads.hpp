// PouchDB Server as a peer doing the same job as chunklogd: the
// `pouch-bulk-docs` load workload (see workloads.hpp) and the `pouch-pull`
// measurement, which loads N documents and pulls them back through one
// GET {db}/_changes?include_docs=true (the median of pull_repetitions
// pulls). Single-threaded.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/pull_compare.hpp"

namespace chunklog::bench {

// Stores `count` documents of options.value_size (at most 1 KiB) in a fresh
// database, then times pulling them with their contents.
pull_result run_pouch_pull(const bench_options& options, std::size_t count);

}  // namespace chunklog::bench
