#include "api/head_watch.hpp"

#include <vector>

namespace chunklog::api {

std::uint64_t head_watch::subscribe(const uuid& user, waker wake) {
    std::lock_guard lock(mutex_);
    auto id = ++next_id_;
    waiters_[user].emplace(id, std::move(wake));
    return id;
}

void head_watch::unsubscribe(const uuid& user, std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = waiters_.find(user);
    if (it == waiters_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) waiters_.erase(it);
}

void head_watch::notify(const uuid& user) {
    std::unordered_map<std::uint64_t, waker> woken;
    {
        std::lock_guard lock(mutex_);
        auto it = waiters_.find(user);
        if (it == waiters_.end()) return;
        woken = std::move(it->second);
        waiters_.erase(it);
    }
    for (auto& [id, wake] : woken) wake();
}

void head_watch::notify_all() {
    std::unordered_map<uuid, std::unordered_map<std::uint64_t, waker>, id_hash> woken;
    {
        std::lock_guard lock(mutex_);
        woken = std::move(waiters_);
        waiters_.clear();
    }
    for (auto& [user, wakers] : woken)
        for (auto& [id, wake] : wakers) wake();
}

std::size_t head_watch::waiting() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [user, wakers] : waiters_) n += wakers.size();
    return n;
}

}  // namespace chunklog::api
