// Garbage collection passes (protocol section 9) as the server runs them:
// run_gc_pass runs one now (POST /admin/gc) and records it in the metrics
// and the log; gc_runner owns the background thread that runs one every
// interval. Destroying a gc_runner stops it promptly: a pass in progress
// ends at its next batch, and the destructor joins the thread. Destroy it
// before the store. Thread-safe.
#pragma once

#include "api/metrics.hpp"

#include <chunklog/storage/log_store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace chunklog::api {

outcome<storage::gc_result> run_gc_pass(storage::log_store& store, metrics& counters,
                                        const std::atomic<bool>* stop = nullptr);

class gc_runner {
public:
    // interval 0: no background pass (and no thread).
    gc_runner(storage::log_store& store, metrics& counters, std::chrono::seconds interval);
    ~gc_runner();
    gc_runner(const gc_runner&) = delete;
    gc_runner& operator=(const gc_runner&) = delete;

private:
    void run();

    storage::log_store& store_;
    metrics& counters_;
    std::chrono::seconds interval_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

}  // namespace chunklog::api
