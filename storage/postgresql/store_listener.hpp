// store_listener: one thread with its own database connection that LISTENs
// on the channels the store NOTIFYs (chunklog_head when a HEAD moves, with
// the user; chunklog_token when a token is revoked, with its secret hash;
// several separated by spaces, see store_notifier)
// and passes each to store_events. NOTIFY is reliable while the connection
// lives; when it breaks, the listener reconnects, subscribes again and calls
// both events with nullopt (anything may have changed meanwhile). It also
// calls head_moved(nullopt) every recheck_interval as a safety net.
// Thread-safe; stops (and joins) on destruction.
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace chunklog::storage {

class store_listener {
public:
    static constexpr auto recheck_interval = std::chrono::seconds(10);

    store_listener(std::string conninfo, store_events events, std::function<void(std::string_view)> log_error);
    ~store_listener();
    store_listener(const store_listener&) = delete;
    store_listener& operator=(const store_listener&) = delete;

private:
    void run();
    void everything_may_have_changed();
    void notified(std::string_view channel, std::string_view payload);

    std::string conninfo_;
    store_events events_;
    std::function<void(std::string_view)> log_error_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace chunklog::storage
