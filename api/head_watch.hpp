// head_watch: who is waiting for a user's HEAD to move. Long-poll sessions
// subscribe a waker; handlers that change HEAD (advance, publish, delete)
// notify the user, which calls and drops every waker of that user at once.
// Wakers must be cheap and must not block (they post to the waiting
// session). Thread-safe.
#pragma once

#include <chunklog/ids.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace chunklog::api {

class head_watch {
public:
    using waker = std::function<void()>;

    std::uint64_t subscribe(const uuid& user, waker wake);
    void unsubscribe(const uuid& user, std::uint64_t id);
    void notify(const uuid& user);
    void notify_all();  // at shutdown
    std::size_t waiting() const;

private:
    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<uuid, std::unordered_map<std::uint64_t, waker>, id_hash> waiters_;
};

}  // namespace chunklog::api
