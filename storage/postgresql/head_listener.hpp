// head_listener: one thread with its own database connection that LISTENs
// on the channel the store NOTIFYs when a HEAD moves, and calls `moved` with
// each user named. NOTIFY is reliable while the connection lives; when it
// breaks, the listener reconnects, subscribes again and calls moved(nullopt)
// (any user's HEAD may have moved meanwhile). It also calls moved(nullopt)
// every recheck_interval as a safety net. Thread-safe; stops on destruction.
#pragma once

#include <chunklog/ids.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace chunklog::storage {

class head_listener {
public:
    using callback = std::function<void(const std::optional<uuid>&)>;
    static constexpr auto recheck_interval = std::chrono::seconds(10);

    head_listener(std::string conninfo, callback moved, std::function<void(std::string_view)> log_error);
    ~head_listener();
    head_listener(const head_listener&) = delete;
    head_listener& operator=(const head_listener&) = delete;

private:
    void run();

    std::string conninfo_;
    callback moved_;
    std::function<void(std::string_view)> log_error_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace chunklog::storage
