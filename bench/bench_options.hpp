// Command-line options of chunklog-bench. Plain value, start-up only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chunklog::bench {

struct bench_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    bool tls = false;     // https (--tls, or an https:// --server)
    std::string ca_file;  // PEM CA certificates trusted for https besides the system's store
    // Sent as `Authorization: Bearer TOKEN` on every chunklogd request
    // (--token, else CHUNKLOG_TOKEN); unused with --spawn, which makes its own.
    std::string token;
    std::vector<std::string> workloads{"put-chunks"};
    unsigned connections = 1;
    double duration_seconds = 5;
    double warmup_seconds = 1;
    std::size_t value_size = 4096;
    bool value_size_given = false;  // --size was on the command line (gc has its own default)
    unsigned users = 1;
    unsigned batch = 1;  // chunks or documents per request (publish, pouch-bulk-docs)
    std::uint64_t seed = 1;
    std::size_t pull_count = 5000;  // transactions for the pull workload
    std::uint64_t gc_transactions = 1'000'000;    // the gc workload's store, 90% of it dead
    std::size_t bootstrap_transactions = 10'000;  // the bootstrap workload's history
    std::size_t bootstrap_tasks = 0;              // tasks it creates (0: one per transaction)
    std::string taskwarrior_root;  // taskwarrior-sync: the sid root ("" for the default)
    double rate = 1000;  // ops/s of the gc workload's load over all its connections (0: unpaced)
    bool json = false;
    bool progress = false;            // a status line on stderr (set when it is a terminal)
    bool spawn = false;               // start a chunklogd on a temp directory
    std::vector<std::string> server_args;  // extra chunklogd flags with --spawn
    // More nodes of the same service (one store shared through PostgreSQL):
    // further --server URLs, or the nodes --spawn-nodes starts after the
    // first. The load workloads (put-chunks, get-chunks, publish,
    // publish-core) spread their connections over all nodes round-robin;
    // the other workloads, tokens and /metrics use the first node.
    struct node {
        std::string host;
        std::uint16_t port = 0;
    };
    std::vector<node> more_nodes;
    unsigned spawn_nodes = 1;  // --spawn-nodes: chunklogd processes --spawn starts
    // --window-file: gets "start WORKLOAD" when a table workload's measured
    // window opens and "end WORKLOAD" when it closes (for a script sampling
    // other processes over exactly that window).
    std::string window_file;
    // --rtt-ms, --bandwidth-mbit: the server reached through a delay_relay
    // (bench/delay_relay.hpp) that makes loopback a wide-area link.
    double rtt_ms = 0;
    double bandwidth_mbit = 100;
};

// Every workload name --workload accepts.
extern const std::vector<std::string> known_workloads;

// Parses argv; on --help or a usage error fills `message` and returns false.
bool parse_bench_options(int argc, char** argv, bench_options& out, std::string& message, int& exit_code);

// Whether `name` starts its own chunklogd (gc: it needs server flags of its
// own), so needs --spawn and not the run's shared server.
bool runs_own_server(const std::string& name);

// Whether options.server_args turn the spawned server's tokens off (--auth none).
bool spawned_without_auth(const bench_options& options);
// Whether options.server_args give the spawned server its certificate (--tls-cert).
bool spawned_with_certificate(const bench_options& options);

}  // namespace chunklog::bench
