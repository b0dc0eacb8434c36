// store_notifier: sends the store's notifications (NOTIFY chunklog_head
// when a HEAD moved, chunklog_token when a token was revoked; see
// store_listener) from one thread with its own database connection, after
// the writes they announce have committed. What arrives within 2 ms of the
// first, or while a batch is being sent, goes in one transaction, several
// payloads per notification (separated by spaces), so that thousands of
// HEAD advances a second cost a few hundred notifying transactions, not
// one each: PostgreSQL serializes the commits of notifying transactions,
// and each wakes every listening backend. The notifications carry no state (a
// listener reads the state itself), so their transactions commit without
// waiting for the disk, and a notification lost with a broken connection
// only delays a wake-up until the listeners' periodic re-check.
// Thread-safe; sends what it holds, then stops, on destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

namespace chunklog::storage {

class store_notifier {
public:
    // The longest payload PostgreSQL takes is 8000 bytes.
    static constexpr std::size_t max_payload = 7900;

    store_notifier(std::string conninfo, std::function<void(std::string_view)> log_error);
    ~store_notifier();
    store_notifier(const store_notifier&) = delete;
    store_notifier& operator=(const store_notifier&) = delete;

    // Sends `payload` on `channel` soon (a payload already waiting is sent once).
    void post(const std::string& channel, const std::string& payload);

private:
    using batch = std::map<std::string, std::set<std::string>>;  // channel -> payloads
    void run();
    void report_failure();

    std::string conninfo_;
    std::function<void(std::string_view)> log_error_;
    std::mutex mutex_;
    std::condition_variable posted_;
    batch pending_;
    bool stopping_ = false;
    std::thread thread_;
};

// The statements that send `payloads` on `channel`: each notification
// carries as many payloads, separated by spaces, as fit in max_payload.
std::string notify_statements(std::string_view channel, const std::set<std::string>& payloads);

}  // namespace chunklog::storage
