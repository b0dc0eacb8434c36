// auth_limiter: counts failed authentications per client address in fixed
// windows (protocol section 7): past `limit` failures within one window, the
// address is refused until the window ends. IPv6 addresses count by their
// /64 prefix (one host usually owns a whole /64). Memory is bounded: at most
// `max_addresses` windows are remembered, the oldest forgotten first.
// Thread-safe (one mutex, taken only by requests without a valid token).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chunklog::api {

class auth_limiter {
public:
    using clock = std::chrono::steady_clock;

    auth_limiter(unsigned limit, std::chrono::seconds window, std::size_t max_addresses);

    // How long the address must wait (whole seconds, at least 1) when it is
    // over its limit; nullopt when it may try.
    std::optional<std::chrono::seconds> blocked(std::string_view address, clock::time_point now = clock::now());
    void record_failure(std::string_view address, clock::time_point now = clock::now());
    std::size_t addresses();

    // The key an address counts under: IPv4 as is, IPv6 by its /64.
    static std::string address_key(std::string_view address);

private:
    struct window {
        clock::time_point start;
        unsigned failures = 0;
    };
    void forget_old(clock::time_point now);

    unsigned limit_;
    std::chrono::seconds window_;
    std::size_t max_addresses_;
    std::mutex mutex_;
    std::unordered_map<std::string, window> windows_;
    std::deque<std::pair<std::string, clock::time_point>> started_;  // window starts, oldest first
};

}  // namespace chunklog::api
