// head_watch: who is waiting for a user's HEAD to move. Long-poll sessions
// subscribe a waker in a group: the waiters one thread serves (an I/O
// thread), with the poster that runs a function on that thread. Handlers
// that change HEAD (advance, publish, delete) notify the user, which drops
// every waker of that user and hands each group its wakers in one posted
// function: one hand-off per I/O thread, not one per waiter, so thousands
// of waiters are woken without thousands of cross-thread posts. A
// notification may carry HEAD as the notifier's write left it, so that the
// woken need not each read it again. Wakers run on their group's thread,
// must be cheap and must not block. A waker of a group that is not (or no
// longer) known runs on the notifying thread. Thread-safe.
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace chunklog::api {

class head_watch {
public:
    // Called with HEAD as the notifier's write left it, or null when the
    // notifier does not know it (a deletion, another node's write, shutdown).
    using waker = std::function<void(const head_state* now)>;
    // Runs a function on a group's thread (posts it there).
    using poster = std::function<void(std::function<void()>)>;

    // A group, by an address that names it (its I/O context); until
    // remove_groups, `post` must stay callable.
    void add_group(const void* group, poster post);
    // Forgets the groups and every waiter: their threads have stopped.
    void remove_groups();

    std::uint64_t subscribe(const uuid& user, const void* group, waker wake);
    void unsubscribe(const uuid& user, std::uint64_t id);
    void notify(const uuid& user, std::optional<head_state> now = std::nullopt);
    void notify_all();  // at shutdown, and when another node's changes may have been missed
    std::size_t waiting() const;

private:
    struct waiter {
        const void* group;
        waker wake;
    };
    using waiters_of_user = std::unordered_map<std::uint64_t, waiter>;
    // Wakes `woken`, each group's share in one posted function; takes the
    // posters under the lock, posts outside it.
    void wake(std::vector<waiter> woken, std::optional<head_state> now);

    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<uuid, waiters_of_user, id_hash> waiters_;
    std::unordered_map<const void*, poster> groups_;
};

}  // namespace chunklog::api
