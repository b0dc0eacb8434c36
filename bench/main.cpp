// chunklog-bench: a load generator for chunklogd that reports throughput and
// latency percentiles per named workload.
#include "bench/bench_options.hpp"
#include "bench/bench_server.hpp"
#include "bench/delay_relay.hpp"
#include "bench/taskchampion_pull.hpp"
#include "bench/bootstrap.hpp"
#include "bench/disk_ceiling.hpp"
#include "bench/gc_workload.hpp"
#include "bench/longpoll.hpp"
#include "bench/loopback_fanout.hpp"
#include "bench/pouch_workloads.hpp"
#include "bench/pull_compare.hpp"
#include "bench/task_sync.hpp"
#include "bench/taskchampion_workloads.hpp"
#include "bench/taskwarrior_sync.hpp"
#include "bench/runner.hpp"
#include "bench/tokens.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

using namespace chunklog::bench;

namespace {

void print_table_header() {
    std::printf("%-15s %5s %8s %5s %9s %10s %10s %8s %8s %8s %8s %8s %8s %6s %6s\n", "workload", "conns", "size",
                "batch", "ops", "ops/s", "items/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms", "errors",
                "409s");
}

void print_row(const run_stats& s) {
    std::uint64_t errors = 0;
    for (const auto& [kind, n] : s.errors) errors += n;
    std::printf("%-15s %5u %8zu %5llu %9llu %10.0f %10.0f %8.1f %8.2f %8.2f %8.2f %8.2f %8.2f %6llu %6llu\n",
                s.workload.c_str(), s.connections, s.value_size,
                static_cast<unsigned long long>(s.ops == 0 ? 1 : s.items / s.ops), static_cast<unsigned long long>(s.ops),
                static_cast<double>(s.ops) / s.seconds, static_cast<double>(s.items) / s.seconds,
                static_cast<double>(s.bytes) / s.seconds / 1e6,
                s.percentile_ms(50), s.percentile_ms(90), s.percentile_ms(99), s.percentile_ms(99.9),
                s.percentile_ms(100), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(s.conflicts));
    for (const auto& [kind, n] : s.errors) std::printf("  errors: %s x %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
}

boost::json::object to_json(const run_stats& s) {
    boost::json::object errors;
    for (const auto& [kind, n] : s.errors) errors[kind] = n;
    return {{"workload", s.workload},
            {"connections", s.connections},
            {"size", s.value_size},
            {"seconds", s.seconds},
            {"ops", s.ops},
            {"ops_per_second", static_cast<double>(s.ops) / s.seconds},
            {"items", s.items},
            {"items_per_second", static_cast<double>(s.items) / s.seconds},
            {"mb_per_second", static_cast<double>(s.bytes) / s.seconds / 1e6},
            {"latency_ms",
             {{"p50", s.percentile_ms(50)}, {"p90", s.percentile_ms(90)}, {"p99", s.percentile_ms(99)},
              {"p99.9", s.percentile_ms(99.9)}, {"max", s.percentile_ms(100)}}},
            {"errors", errors},
            {"conflicts", s.conflicts},
            {"server_rss_kib", {{"before", s.server_rss_before_kib}, {"after", s.server_rss_after_kib}}}};
}

void report_pull(const std::vector<pull_result>& results, bool json) {
    const auto& baseline = results.front();
    if (!json)
        std::printf("%-28s %12s %9s %9s %10s %13s %11s\n", "pull method", "transactions", "requests", "seconds", "tx/s",
                    "time vs first", "link MB");
    for (const auto& r : results) {
        if (json) {
            std::cout << boost::json::serialize(boost::json::object{{"workload", "pull"}, {"method", r.method},
                                                                    {"transactions", r.transactions},
                                                                    {"requests", r.requests}, {"seconds", r.seconds},
                                                                    {"link_bytes", r.link_bytes}})
                      << std::endl;
            continue;
        }
        std::printf("%-28s %12llu %9llu %9.3f %10.0f %13.3f %11.2f\n", r.method.c_str(),
                    static_cast<unsigned long long>(r.transactions), static_cast<unsigned long long>(r.requests),
                    r.seconds, static_cast<double>(r.transactions) / r.seconds, r.seconds / baseline.seconds,
                    static_cast<double>(r.link_bytes) / 1e6);
    }
}

void report_longpoll(const longpoll_result& r, bool json) {
    auto at = [&](double p) {
        if (r.wake_ms.empty()) return 0.0;
        return r.wake_ms[std::min(r.wake_ms.size() - 1, static_cast<std::size_t>(p / 100 * (r.wake_ms.size() - 1) + 0.5))];
    };
    if (json) {
        std::cout << boost::json::serialize(boost::json::object{
                         {"workload", r.workload}, {"waiters", r.waiters}, {"woken", r.woken},
                         {"wake_ms", {{"p50", at(50)}, {"p99", at(99)}, {"max", at(100)}}},
                         {"server_rss_kib", {{"idle", r.rss_idle_kib}, {"waiting", r.rss_waiting_kib}}}})
                  << std::endl;
        return;
    }
    std::printf("%s: %zu waiters, %zu woken by one advance; wake-up p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                r.workload.c_str(), r.waiters, r.woken, at(50), at(99), at(100));
    if (r.rss_idle_kib != 0)
        std::printf("; server RSS %ld KiB idle, %ld KiB with all waiting", r.rss_idle_kib, r.rss_waiting_kib);
    std::printf("\n");
}

void report_task_sync(const task_sync_result& r, bool json) {
    if (json) {
        std::cout << boost::json::serialize(boost::json::object{
                         {"workload", "task-sync"}, {"operations", r.operations}, {"tasks", r.tasks},
                         {"transactions", r.transactions},
                         {"publish_seconds", r.publish_seconds}, {"fresh_sync_seconds", r.fresh_sync_seconds},
                         {"list_seconds", r.list_seconds}})
                  << std::endl;
        return;
    }
    std::printf("task-sync: %zu operations (%zu tasks) in %zu transactions: publishing syncs %.3f s, "
                "fresh replica sync %.3f s, list all %.3f s\n",
                r.operations, r.tasks, r.transactions, r.publish_seconds, r.fresh_sync_seconds, r.list_seconds);
}

// gc, on a chunklogd of its own started with the flags it needs.
void run_with_own_server(const std::string& name, bench_options options) {
    bench_server server(options, gc_server_args(), "-" + name);
    server_link link(options);
    token_book tokens(link, server.admin_token(), std::string());
    report_gc(run_gc(options, tokens), options.json);
    server.stop();
}

// Runs every workload of `options`; throws std::exception on a failure
// that stops the run.
int run(bench_options options) {
    const auto& names = options.workloads;
    bool shared_server = std::any_of(names.begin(), names.end(), [](const auto& n) { return !runs_own_server(n); });
    std::unique_ptr<bench_server> server;
    std::vector<std::unique_ptr<bench_server>> more_servers;  // --spawn-nodes beyond the first
    if (options.spawn && shared_server) {
        server = std::make_unique<bench_server>(options, std::vector<std::string>{}, "");
        for (unsigned n = 1; n < options.spawn_nodes; ++n) {
            auto node_options = options;
            more_servers.push_back(
                std::make_unique<bench_server>(node_options, std::vector<std::string>{}, "-node" + std::to_string(n + 1)));
            options.more_nodes.push_back({node_options.host, node_options.port});
        }
    }
    // A wide-area link in front of the (first) server: every request the
    // workloads and the token set-up make crosses it.
    std::unique_ptr<delay_relay> relay;
    if (options.rtt_ms > 0) {
        relay = std::make_unique<delay_relay>(options.host, options.port,
                                              std::chrono::microseconds(static_cast<std::int64_t>(options.rtt_ms * 1000)),
                                              options.bandwidth_mbit * 1e6);
        options.host = "127.0.0.1";
        options.port = relay->port();
    }
    server_link link(options);
    // Every node's link, the first one first: the load workloads spread over them.
    std::vector<std::unique_ptr<server_link>> more_links;
    std::vector<const server_link*> nodes{&link};
    for (const auto& n : options.more_nodes) {
        auto node_options = options;
        node_options.host = n.host;
        node_options.port = n.port;
        more_links.push_back(std::make_unique<server_link>(node_options));
        nodes.push_back(more_links.back().get());
    }
    // A spawned server's users each get their own token; otherwise --token for all.
    token_book tokens(link, server ? server->admin_token() : std::string(), options.spawn ? std::string() : options.token);
    bool header_printed = false;
    std::vector<std::string> expanded;  // taskchampion stands for its rows
    for (const auto& name : names) {
        if (name == "taskchampion") expanded.insert(expanded.end(), taskchampion_parts.begin(), taskchampion_parts.end());
        else expanded.push_back(name);
    }
    for (const auto& name : expanded) {
        if (runs_own_server(name)) {
            run_with_own_server(name, options);
            continue;
        }
        if (name == "bootstrap") {
            auto metrics_token = server ? server->admin_token() : options.token;
            report_bootstrap(run_bootstrap(options, tokens, metrics_token), options.json);
            continue;
        }
        if (name == "taskwarrior-sync") {
            auto metrics_token = server ? server->admin_token() : options.token;
            report_taskwarrior_sync(run_taskwarrior_sync(options, tokens, metrics_token), options.json);
            continue;
        }
        if (name == "longpoll") {
            report_longpoll(run_longpoll(options, tokens, [&] { return server ? server->rss_kib() : 0L; }), options.json);
            continue;
        }
        if (name == "loopback-fanout") {
            report_longpoll(run_loopback_fanout(options), options.json);
            continue;
        }
        if (name == "task-sync") {
            report_task_sync(run_task_sync(options, options.pull_count, tokens), options.json);
            continue;
        }
        if (name == "pull") {
            report_pull(run_pull_comparison(options, options.pull_count, tokens), options.json);
            continue;
        }
        if (name == "tc-pull") {
            report_pull(run_taskchampion_pull(options.pull_count, tokens), options.json);
            continue;
        }
        if (name == "pouch-pull") {
            report_pull({run_pouch_pull(options, options.pull_count)}, options.json);
            continue;
        }
        if (!options.json && !header_printed) print_table_header();
        header_printed = true;
        long rss_before = server ? server->rss_kib() : 0;
        auto stats = name.starts_with("rocksdb-") ? run_rocksdb_ceiling(options, name)
                                                 : run_workload(options, name, tokens, nodes);
        stats.server_rss_before_kib = rss_before;
        stats.server_rss_after_kib = server ? server->rss_kib() : 0;
        if (options.json) std::cout << boost::json::serialize(to_json(stats)) << std::endl;
        else print_row(stats);
    }
    for (auto& s : more_servers) s->stop();
    if (server) server->stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bench_options options;
    std::string message;
    int exit_code = 0;
    if (!parse_bench_options(argc, argv, options, message, exit_code)) {
        (exit_code == 0 ? std::cout : std::cerr) << message;
        return exit_code;
    }
    options.progress = !options.json && ::isatty(STDERR_FILENO) == 1;
    try {
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "chunklog-bench: " << e.what() << "\n";
        return 1;
    }
}
