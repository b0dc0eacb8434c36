// The `taskchampion` workload (issue 12): chunklogd's latency per
// TaskChampion sync request next to the same request through chunklog's
// native API, as five load workloads of one row each. Every version is a
// real one: a `task add`'s history segment sealed with its user's key
// (derived once per user, before the clock starts).
//   tc-add-version  POST /v1/client/add-version/{HEAD} (X-Client-Id; on 409
//                   the connection takes X-Parent-Version-Id as its base,
//                   seals again and resends, as TaskChampion rebases)
//   tc-publish      POST /0.1/{user}/publish of the same kind of version: one
//                   chunk, one transaction and the HEAD advance
//   tc-get-child    GET /v1/client/get-child-version/{parent} over a chain of
//                   chain_length versions published first
//   tc-get-log      GET /0.1/{user}/log?from={parent}&limit=1 over the same
//                   chain: the child transaction with its chunk, in one request
//   tc-get-chunk    GET /0.1/{user}/chunks/{id}: a version's bytes by id
// Connections spread over --users as for the other load workloads, each
// carrying its user's token (Bearer, which section 12 accepts). A workload
// object is used from the runner's one client thread only (see workloads.hpp).
#pragma once

#include "bench/workloads.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chunklog::bench {

// The rows of `taskchampion`, in the order it runs them.
extern const std::vector<std::string> taskchampion_parts;

// nullptr when `name` is not one of taskchampion_parts.
std::unique_ptr<workload> make_taskchampion_workload(const std::string& name, const bench_options& options);

}  // namespace chunklog::bench
