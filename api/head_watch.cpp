#include "api/head_watch.hpp"

#include <memory>
#include <utility>

namespace chunklog::api {

void head_watch::add_group(const void* group, poster post) {
    std::lock_guard lock(mutex_);
    groups_[group] = std::move(post);
}

void head_watch::remove_groups() {
    std::lock_guard lock(mutex_);
    groups_.clear();
    waiters_.clear();  // their threads are gone: nothing may run their wakers now
}

std::uint64_t head_watch::subscribe(const uuid& user, const void* group, waker wake) {
    std::lock_guard lock(mutex_);
    auto id = ++next_id_;
    waiters_[user].emplace(id, waiter{group, std::move(wake)});
    return id;
}

void head_watch::unsubscribe(const uuid& user, std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = waiters_.find(user);
    if (it == waiters_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) waiters_.erase(it);
}

void head_watch::notify(const uuid& user, std::optional<head_state> now) {
    std::vector<waiter> woken;
    {
        std::lock_guard lock(mutex_);
        auto it = waiters_.find(user);
        if (it == waiters_.end()) return;
        woken.reserve(it->second.size());
        for (auto& [id, w] : it->second) woken.push_back(std::move(w));
        waiters_.erase(it);
    }
    wake(std::move(woken), now);
}

void head_watch::notify_all() {
    std::vector<waiter> woken;
    {
        std::lock_guard lock(mutex_);
        for (auto& [user, of_user] : waiters_)
            for (auto& [id, w] : of_user) woken.push_back(std::move(w));
        waiters_.clear();
    }
    wake(std::move(woken), std::nullopt);
}

void head_watch::wake(std::vector<waiter> woken, std::optional<head_state> now) {
    struct batch {
        poster post;
        std::vector<waker> wakers;
    };
    std::unordered_map<const void*, batch> batches;
    std::vector<waker> here;  // of no known group
    {
        std::lock_guard lock(mutex_);
        for (auto& w : woken) {
            auto group = groups_.find(w.group);
            if (group == groups_.end()) {
                here.push_back(std::move(w.wake));
                continue;
            }
            auto& b = batches[w.group];
            if (!b.post) b.post = group->second;
            b.wakers.push_back(std::move(w.wake));
        }
    }
    const head_state* known = now ? &*now : nullptr;
    for (auto& [group, b] : batches)
        b.post([wakers = std::make_shared<std::vector<waker>>(std::move(b.wakers)), now] {
            for (auto& w : *wakers) w(now ? &*now : nullptr);
        });
    for (auto& w : here) w(known);
}

std::size_t head_watch::waiting() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [user, of_user] : waiters_) n += of_user.size();
    return n;
}

}  // namespace chunklog::api
