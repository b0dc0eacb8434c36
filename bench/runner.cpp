#include "bench/runner.hpp"

#include "bench/workloads.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

namespace chunklog::bench {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_window {
    clock_type::time_point measure_from;
    clock_type::time_point stop_at;
};

asio::awaitable<void> drive(workload& w, load_connection& conn, unsigned index, run_window window,
                            run_stats& stats) {
    for (std::uint64_t op = 0;; ++op) {
        auto started = clock_type::now();
        if (started >= window.stop_at) co_return;
        auto outcome = co_await w.run_one(conn, index, op);
        auto finished = clock_type::now();
        if (started < window.measure_from || finished > window.stop_at) continue;
        if (!outcome.ok) {
            ++stats.errors[outcome.error];
            continue;
        }
        ++stats.ops;
        stats.items += outcome.items;
        stats.bytes += outcome.bytes;
        stats.conflicts += outcome.conflicts;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count();
        stats.latencies_us.push_back(static_cast<std::uint32_t>(us));
    }
}

// Rewrites one status line on stderr every second until the run is over.
asio::awaitable<void> show_progress(const std::string& name, run_window window, const run_stats& stats) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto started = clock_type::now();
    while (clock_type::now() < window.stop_at) {
        timer.expires_after(std::chrono::seconds(1));
        co_await timer.async_wait(asio::use_awaitable);
        auto elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
        auto total = std::chrono::duration<double>(window.stop_at - started).count();
        auto measuring = std::chrono::duration<double>(clock_type::now() - window.measure_from).count();
        std::fprintf(stderr, "\r\033[K%s: %.0f of %.0f s, %llu ops measured (%.0f/s)", name.c_str(), elapsed, total,
                     static_cast<unsigned long long>(stats.ops), measuring > 0 ? stats.ops / measuring : 0.0);
    }
    std::fprintf(stderr, "\r\033[K");
}

// Marks the measured window in `file` (--window-file) as it opens and closes.
asio::awaitable<void> mark_window(std::string file, std::string name, run_window window) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(window.measure_from);
    co_await timer.async_wait(asio::use_awaitable);
    std::ofstream(file, std::ios::trunc) << "start " << name << std::endl;
    timer.expires_at(window.stop_at);
    co_await timer.async_wait(asio::use_awaitable);
    std::ofstream(file, std::ios::app) << "end " << name << std::endl;
}

}  // namespace

double run_stats::percentile_ms(double p) const {
    if (latencies_us.empty()) return 0;
    auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(latencies_us.size() - 1) + 0.5);
    return latencies_us[std::min(rank, latencies_us.size() - 1)] / 1000.0;
}

run_stats run_workload(const bench_options& options, const std::string& name, token_book& tokens,
                       const std::vector<const server_link*>& nodes) {
    asio::io_context ioc(1);
    auto w = make_workload(name, options);
    std::vector<std::unique_ptr<load_connection>> conns;
    for (unsigned i = 0; i < options.connections; ++i) {
        auto user = w->user_of(i);
        const auto& link = nodes.empty() ? tokens.link() : *nodes[i % nodes.size()];
        conns.push_back(std::make_unique<load_connection>(ioc, link, user ? tokens.for_user(*user) : ""));
    }

    for (unsigned i = 0; i < options.connections; ++i) asio::co_spawn(ioc, w->prepare(*conns[i], i), asio::detached);
    ioc.run();
    ioc.restart();

    run_stats stats;
    stats.workload = name;
    stats.connections = options.connections;
    stats.value_size = options.value_size;
    stats.seconds = options.duration_seconds;
    auto now = clock_type::now();
    auto warmup = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(options.warmup_seconds));
    auto measured = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(options.duration_seconds));
    run_window window{now + warmup, now + warmup + measured};
    for (unsigned i = 0; i < options.connections; ++i)
        asio::co_spawn(ioc, drive(*w, *conns[i], i, window, stats), asio::detached);
    if (options.progress) asio::co_spawn(ioc, show_progress(name, window, stats), asio::detached);
    if (!options.window_file.empty())
        asio::co_spawn(ioc, mark_window(options.window_file, name, window), asio::detached);
    ioc.run();
    std::sort(stats.latencies_us.begin(), stats.latencies_us.end());
    return stats;
}

}  // namespace chunklog::bench
