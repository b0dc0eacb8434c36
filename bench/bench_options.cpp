#include "bench/bench_options.hpp"

#include <boost/algorithm/string/split.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>
#include <utility>

namespace chunklog::bench {
namespace {

const char* usage =
    "usage: chunklog-bench [options]\n"
    "  --server URL        server to load (default http://127.0.0.1:8080; https://HOST:PORT for TLS);\n"
    "                      repeat it for several nodes sharing one store: the connections of\n"
    "                      the table workloads (put-chunks, get-chunks, publish, ...) go to\n"
    "                      them round-robin (tokens, /metrics, other workloads: the first)\n"
    "  --spawn             start a chunklogd on a fresh temp directory instead; unless\n"
    "                      --server-arg --auth --server-arg none, the bench reads its admin\n"
    "                      token and makes one write token per user it loads, which that\n"
    "                      user's connections send\n"
    "  --server-arg ARG    extra chunklogd argument with --spawn (repeatable)\n"
    "  --spawn-nodes N     with --spawn, start N chunklogd on one shared store (default 1;\n"
    "                      N > 1 needs --server-arg --store --server-arg postgresql...), each\n"
    "                      with its own data directory; connections spread as for --server.\n"
    "                      Per-user tokens are made on the first node (the store shares them)\n"
    "  --token TOKEN       bearer token sent on every chunklogd request, without --spawn\n"
    "                      (default: $CHUNKLOG_TOKEN). The workloads pick their own user ids\n"
    "                      (seeded, or random for pull, task-sync and longpoll), so the\n"
    "                      token must be one that may write them: the admin token, unless\n"
    "                      the server runs with --auth none\n"
    "  --tls               speak HTTPS (TLS 1.2 or later, certificate verified); with\n"
    "                      --spawn, the bench makes a self-signed certificate for 127.0.0.1\n"
    "                      (openssl command) and starts chunklogd with --tls-cert/--tls-key,\n"
    "                      unless --server-arg already gives them (then pass --ca-file)\n"
    "  --ca-file FILE      PEM CA certificates to trust for HTTPS besides the system's store\n"
    "  --workload LIST     comma-separated (default put-chunks):\n"
    "                        put-chunks, get-chunks   PUT or GET chunks of --size bytes\n"
    "                        publish                  POST publish: --batch chunks, one transaction, HEAD\n"
    "                        publish-core             PUT chunk, PUT transaction, PUT head\n"
    "                        pull                     catch up --count transactions, three ways\n"
    "                        task-sync                task replicas syncing --count operations\n"
    "                        longpoll                 --connections waiters woken by one advance\n"
    "                        loopback-fanout          the longpoll burst with no server: a child process\n"
    "                                                 writes each waiter its answer, one send per socket\n"
    "                        rocksdb-sync             synced RocksDB puts, no server (disk ceiling)\n"
    "                        rocksdb-publish          synced RocksDB batches shaped as a publish of one\n"
    "                                                 --size chunk, one user per connection, no server\n"
    "                        rocksdb-publish-grouped  the same batches, one per connection, written together\n"
    "                                                 by one thread as one synced batch (commit pipeline shape)\n"
    "                        pouch-bulk-docs          PouchDB Server _bulk_docs, --batch docs of --size\n"
    "                        pouch-pull               PouchDB Server _changes of --count docs\n"
    "                        gc                       a garbage collection pass over --gc-transactions,\n"
    "                                                 90% dead, and the latency of chunk GETs and\n"
    "                                                 publishes before, during and after it\n"
    "                        bootstrap                a new replica from the snapshot against a full\n"
    "                                                 replay of --bootstrap-transactions, in the\n"
    "                                                 task replica's TaskChampion formats (reads\n"
    "                                                 /metrics: --spawn, or --token with the admin token)\n"
    "                        taskchampion             latency of TaskChampion's add-version and\n"
    "                                                 get-child-version next to POST publish, GET log\n"
    "                                                 and GET chunk with the same versions (rows\n"
    "                                                 tc-add-version, tc-publish, tc-get-child,\n"
    "                                                 tc-get-log, tc-get-chunk; each also alone)\n"
    "                        tc-pull                  catch up --count Taskwarrior versions: get-child-version\n"
    "                                                 one by one, and GET log\n"
    "                        taskwarrior-sync         a real Taskwarrior 3 `task sync` pulling --count\n"
    "                                                 versions (needs root and the sid root of\n"
    "                                                 scripts/taskwarrior-root.sh; skipped otherwise;\n"
    "                                                 reads /metrics like bootstrap)\n"
    "                      gc needs --spawn: it starts a chunklogd of its own with\n"
    "                      --gc-grace 1s --gc-interval 1d, so that only POST /admin/gc runs a pass\n"
    "  --count N           transactions or documents (pull, pouch-pull), operations (task-sync),\n"
    "                      versions (taskwarrior-sync)\n"
    "                      (default 5000)\n"
    "  --batch N           chunks or documents per request (default 1)\n"
    "  --gc-transactions N transactions in the gc workload's store (default 1000000)\n"
    "  --bootstrap-transactions N\n"
    "                      transactions in the bootstrap workload's history (default 10000)\n"
    "  --bootstrap-tasks N tasks that history creates, spread evenly (default: one per\n"
    "                      transaction; fewer: each task edited more often)\n"
    "  --taskwarrior-root DIR\n"
    "                      taskwarrior-sync: the Debian sid root holding usr/bin/task (default\n"
    "                      $CHUNKLOG_TW_ROOT, else ~/.cache/chunklog/sid-taskwarrior)\n"
    "  --rate N            gc: requests/s of the load, over all its connections (default 1000;\n"
    "                      0: each connection sends as fast as it is answered)\n"
    "  --connections N     concurrent connections (default 1; gc: at least 2, half of them\n"
    "                      GET chunks, half publish)\n"
    "  --duration S        measured seconds per workload (default 5)\n"
    "  --warmup S          unmeasured seconds first (default 1)\n"
    "  --size BYTES        chunk size (default 4096; gc: 256)\n"
    "  --users N           distinct users, connections spread over them (default 1)\n"
    "  --seed N            seed of the generated data (default 1)\n"
    "  --json              one JSON object per workload instead of a table\n"
    "  --rtt-ms MS         reach the server through a relay in this process that delays\n"
    "                      each direction by half of MS (a wide-area round trip)\n"
    "  --bandwidth-mbit N  with --rtt-ms, pace each direction to N Mbit/s (default 100; 0: no limit)\n"
    "  --window-file FILE  write \"start WORKLOAD\" to FILE when a table workload's measured\n"
    "                      window opens and add \"end WORKLOAD\" when it closes (for scripts\n"
    "                      that sample other processes over the same window)\n";

template <typename T>
bool parse_number(const std::string& text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

// The first --server sets host and port; each further one adds a node.
bool parse_server(const std::string& text, bench_options& out, bool first) {
    auto url = boost::urls::parse_uri(text);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) return false;
    bool https = url->scheme() == "https";
    if (!first && https != out.tls) return false;  // one scheme for all nodes
    if (https) out.tls = true;
    bench_options::node n{url->host(), static_cast<std::uint16_t>(https ? 443 : 80)};
    if (url->has_port() && !parse_number(std::string(url->port()), n.port)) return false;
    if (first) {
        out.host = n.host;
        out.port = n.port;
    } else {
        out.more_nodes.push_back(n);
    }
    return true;
}

}  // namespace

const std::vector<std::string> known_workloads{"put-chunks", "get-chunks",   "publish",         "publish-core",
                                               "pull",       "task-sync",    "longpoll",        "loopback-fanout", "rocksdb-sync", "rocksdb-publish", "rocksdb-publish-grouped",
                                               "pouch-bulk-docs", "pouch-pull", "gc",           "bootstrap",
                                               "taskchampion", "tc-add-version", "tc-publish", "tc-get-child",
                                               "tc-get-log",   "tc-get-chunk", "taskwarrior-sync", "tc-pull"};

bool parse_bench_options(int argc, char** argv, bench_options& out, std::string& message, int& exit_code) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string token_given;
    bool server_given = false;
    auto fail = [&](const std::string& why) {
        message = "chunklog-bench: " + why + "\n" + usage;
        exit_code = 2;
        return false;
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& flag = args[i];
        if (flag == "--help" || flag == "-h") {
            message = usage;
            exit_code = 0;
            return false;
        }
        if (flag == "--spawn") { out.spawn = true; continue; }
        if (flag == "--tls") { out.tls = true; continue; }
        if (flag == "--json") { out.json = true; continue; }
        if (i + 1 >= args.size()) return fail("missing value for " + flag);
        const auto& value = args[++i];
        bool ok = true;
        if (flag == "--server") ok = parse_server(value, out, !std::exchange(server_given, true));
        else if (flag == "--spawn-nodes") ok = parse_number(value, out.spawn_nodes) && out.spawn_nodes > 0;
        else if (flag == "--server-arg") out.server_args.push_back(value);
        else if (flag == "--token") ok = !(token_given = value).empty();
        else if (flag == "--ca-file") out.ca_file = value;
        else if (flag == "--workload") boost::algorithm::split(out.workloads, value, [](char c) { return c == ','; });
        else if (flag == "--connections") ok = parse_number(value, out.connections) && out.connections > 0;
        else if (flag == "--duration") ok = (std::istringstream(value) >> out.duration_seconds) && out.duration_seconds > 0;
        else if (flag == "--warmup") ok = static_cast<bool>(std::istringstream(value) >> out.warmup_seconds);
        else if (flag == "--size") ok = out.value_size_given = parse_number(value, out.value_size);
        else if (flag == "--users") ok = parse_number(value, out.users) && out.users > 0;
        else if (flag == "--batch") ok = parse_number(value, out.batch) && out.batch > 0;
        else if (flag == "--seed") ok = parse_number(value, out.seed);
        else if (flag == "--count") ok = parse_number(value, out.pull_count) && out.pull_count > 0;
        else if (flag == "--gc-transactions") ok = parse_number(value, out.gc_transactions) && out.gc_transactions > 0;
        else if (flag == "--bootstrap-transactions")
            ok = parse_number(value, out.bootstrap_transactions) && out.bootstrap_transactions > 0;
        else if (flag == "--bootstrap-tasks") ok = parse_number(value, out.bootstrap_tasks) && out.bootstrap_tasks > 0;
        else if (flag == "--taskwarrior-root") ok = !(out.taskwarrior_root = value).empty();
        else if (flag == "--window-file") ok = !(out.window_file = value).empty();
        else if (flag == "--rtt-ms") ok = (std::istringstream(value) >> out.rtt_ms) && out.rtt_ms >= 0;
        else if (flag == "--bandwidth-mbit") ok = (std::istringstream(value) >> out.bandwidth_mbit) && out.bandwidth_mbit >= 0;
        else if (flag == "--rate") ok = (std::istringstream(value) >> out.rate) && out.rate >= 0;
        else return fail("unknown option " + flag);
        if (!ok) return fail("bad value for " + flag + ": " + value);
    }
    for (const auto& w : out.workloads) {
        if (std::find(known_workloads.begin(), known_workloads.end(), w) == known_workloads.end())
            return fail("unknown workload " + w);
        if (runs_own_server(w) && !out.spawn) return fail("workload " + w + " needs --spawn (it starts its own chunklogd)");
        // It forks, which needs this process to have no other thread yet;
        // --rtt-ms starts one (and would not be crossed anyway).
        if (w == "loopback-fanout" && out.rtt_ms > 0) return fail("loopback-fanout reaches no server: drop --rtt-ms");
    }
    if (out.spawn_nodes > 1) {
        if (!out.spawn) return fail("--spawn-nodes needs --spawn");
        if (out.tls) return fail("--spawn-nodes with --tls is not supported (one certificate per node)");
        const auto& a = out.server_args;
        bool shared = false;
        for (std::size_t i = 0; i < a.size(); ++i)
            shared = shared || a[i].rfind("--store=postgresql", 0) == 0 ||
                     (a[i] == "--store" && i + 1 < a.size() && a[i + 1].rfind("postgresql", 0) == 0);
        if (!shared) return fail("--spawn-nodes needs a shared store: --server-arg --store --server-arg postgresql...");
    }
    const char* env_token = std::getenv("CHUNKLOG_TOKEN");
    out.token = !token_given.empty() ? token_given : env_token != nullptr ? env_token : "";
    return true;
}

bool runs_own_server(const std::string& name) { return name == "gc"; }

bool spawned_without_auth(const bench_options& options) {
    const auto& a = options.server_args;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] == "--auth=none" || (a[i] == "--auth" && i + 1 < a.size() && a[i + 1] == "none")) return true;
    return false;
}

bool spawned_with_certificate(const bench_options& options) {
    const auto& a = options.server_args;
    return std::any_of(a.begin(), a.end(), [](const std::string& arg) { return arg.rfind("--tls-cert", 0) == 0; });
}

}  // namespace chunklog::bench
