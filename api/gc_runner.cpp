#include "api/gc_runner.hpp"

#include "api/request_log.hpp"

#include <algorithm>
#include <cstdio>

namespace chunklog::api {

outcome<storage::gc_result> run_gc_pass(storage::log_store& store, metrics& counters, const std::atomic<bool>* stop) {
    auto pass = store.collect_garbage(stop);
    if (!pass) {
        counters.gc_failed();
        log_message(log_level::error, "garbage collection pass failed: " + pass.error().message);
        return pass;
    }
    const auto& r = *pass;
    counters.gc_pass(r.duration, r.examined, r.transactions, r.truncated, r.chunks, r.bytes);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", std::chrono::duration<double>(r.duration).count());
    log_message(log_level::info, std::string("garbage collection pass ") + (r.stopped ? "stopped" : "done") + " in " +
                                     seconds + " s: " + std::to_string(r.users) + " users, " +
                                     std::to_string(r.examined) + " records examined; removed " +
                                     std::to_string(r.transactions) + " transactions (" +
                                     std::to_string(r.truncated) + " by history truncation), " +
                                     std::to_string(r.chunks) + " chunks, " + std::to_string(r.bytes) + " bytes");
    return pass;
}

gc_runner::gc_runner(storage::log_store& store, metrics& counters, std::chrono::seconds interval)
    // At most a century between passes, so that a wait's deadline never overflows the clock.
    : store_(store), counters_(counters), interval_(std::min(interval, std::chrono::seconds(100LL * 365 * 86400))) {
    if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
}

gc_runner::~gc_runner() {
    {
        std::lock_guard lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void gc_runner::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (wake_.wait_for(lock, interval_, [this] { return stop_.load(); })) return;
        lock.unlock();
        run_gc_pass(store_, counters_, &stop_);  // failures are counted and logged
        lock.lock();
    }
}

}  // namespace chunklog::api
