// The `taskwarrior-sync` workload (issue 12): how long a real Taskwarrior 3
// `task sync` takes to pull --count versions through chunklogd.
// 1. For a new user, --count versions are published with the client
//    library in TaskChampion's format (each one `task add`'s history
//    segment sealed to its parent with the key of the replicas' secret and
//    the user id; POST publish in batches), as Taskwarrior replicas would
//    have added them one by one.
// 2. taskwarrior_runs times, a fresh Taskwarrior replica (`task` from the
//    Debian sid root of scripts/taskwarrior-root.sh, entered with chroot,
//    its taskrc pointing at the server with the user's token as the Basic
//    password) runs `task sync`, timed from start to exit: it finds no
//    snapshot and pulls every version with get-child-version. It must then
//    count --count pending tasks; a second `task sync` with nothing to pull
//    gives the fixed cost (process start, key derivation, one request).
//    The server's own request count and time come from /metrics.
// 3. A fresh chunklog task replica (the library) syncs the same versions,
//    its key derived before the clock starts.
// 4. Its tasks are written as the user's snapshot at HEAD (one chunk, the
//    sealed TaskChampion snapshot, as a replica writes it), and one more
//    fresh Taskwarrior replica syncs: it starts from the snapshot.
// Skipped, saying why, without the sid root (--taskwarrior-root, else
// $CHUNKLOG_TW_ROOT, else ~/.cache/chunklog/sid-taskwarrior), when not root
// (chroot), or under --tls (Taskwarrior trusts only the system's CAs).
// Single-threaded; call from main's thread with nothing else loading the server.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/tokens.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chunklog::bench {

inline constexpr int taskwarrior_runs = 3;

struct taskwarrior_sync_run {
    double seconds = 0;               // `task sync` of a fresh replica, wall time
    double idle_seconds = 0;          // the next `task sync`, nothing to pull
    std::uint64_t requests = 0;       // the server answered during the first sync
    double server_seconds = 0;        // the server's time in those requests
    std::size_t tasks = 0;            // pending tasks afterwards
};

struct taskwarrior_sync_result {
    std::string skipped;  // why, when not run
    std::string taskwarrior_version;
    std::size_t versions = 0;
    double publish_seconds = 0;
    std::vector<taskwarrior_sync_run> runs;
    double replica_seconds = 0;  // the chunklog task replica's fresh sync
    std::size_t replica_tasks = 0;
    std::uint64_t snapshot_bytes = 0;
    taskwarrior_sync_run from_snapshot;  // a fresh Taskwarrior replica once the snapshot is written
};

// `metrics_token` may read GET /metrics ("" under --auth none).
taskwarrior_sync_result run_taskwarrior_sync(const bench_options& options, token_book& tokens,
                                             const std::string& metrics_token);

void report_taskwarrior_sync(const taskwarrior_sync_result& result, bool json);

}  // namespace chunklog::bench
