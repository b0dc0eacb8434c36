#include "api/auth_limiter.hpp"

#include <arpa/inet.h>

#include <array>

namespace chunklog::api {

auth_limiter::auth_limiter(unsigned limit, std::chrono::seconds window, std::size_t max_addresses)
    : limit_(limit), window_(window), max_addresses_(max_addresses == 0 ? 1 : max_addresses) {}

std::string auth_limiter::address_key(std::string_view address) {
    std::string text(address);
    std::array<unsigned char, 16> raw{};
    if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), raw.data()) != 1) return text;
    static constexpr std::array<unsigned char, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(v4_mapped.begin(), v4_mapped.end(), raw.begin())) {
        char v4[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, raw.data() + 12, v4, sizeof v4) != nullptr) return v4;
    }
    std::array<unsigned char, 16> prefix{};
    std::copy(raw.begin(), raw.begin() + 8, prefix.begin());
    char v6[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, prefix.data(), v6, sizeof v6) == nullptr) return text;
    return std::string(v6) + "/64";
}

void auth_limiter::forget_old(clock::time_point now) {
    while (!started_.empty() && (now - started_.front().second >= window_ || windows_.size() > max_addresses_ ||
                                 started_.size() > 2 * max_addresses_)) {
        auto& [key, start] = started_.front();
        if (auto it = windows_.find(key); it != windows_.end() && it->second.start == start) windows_.erase(it);
        started_.pop_front();
    }
}

std::optional<std::chrono::seconds> auth_limiter::blocked(std::string_view address, clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_old(now);
    auto it = windows_.find(address_key(address));
    if (it == windows_.end() || it->second.failures < limit_) return std::nullopt;
    auto left = it->second.start + window_ - now;
    auto seconds = std::chrono::ceil<std::chrono::seconds>(left);
    return std::max(seconds, std::chrono::seconds{1});
}

void auth_limiter::record_failure(std::string_view address, clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_old(now);
    auto key = address_key(address);
    auto [it, fresh] = windows_.try_emplace(key, window{now, 0});
    if (fresh) started_.emplace_back(key, now);
    ++it->second.failures;
    forget_old(now);
}

std::size_t auth_limiter::addresses() {
    std::lock_guard lock(mutex_);
    return windows_.size();
}

}  // namespace chunklog::api
