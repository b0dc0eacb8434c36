// Striped lock tables that order the log store's writers.
//
// Per user (hashed into a fixed table): a shared mutex that every write takes
// shared and DELETE takes exclusive, and a HEAD mutex that serializes HEAD
// advances. The shared mutex prefers writers: glibc's default read-write
// lock lets a steady stream of shared holders starve an exclusive one
// forever (a DELETE behind a busy client would never run). Per key (user plus id, hashed): a mutex that makes the
// check-then-insert of one chunk or transaction atomic. A hash collision only
// costs some contention, never correctness. Beside its HEAD mutex, each
// user entry keeps the HEAD last committed or read under it, so that the
// HEAD advances of a busy user need no read, and what the urgency of the
// user's next snapshot counts from, so that a publish's answer needs none
// either. Thread-safe; the table lives as long as the store.
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>

#include <pthread.h>
#include <shared_mutex>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace chunklog::storage {

// A shared mutex (SharedMutex requirements) that lets a waiting exclusive
// locker in before new shared ones. Not recursive.
class writer_preferring_mutex {
public:
    writer_preferring_mutex() {
        pthread_rwlockattr_t attr;
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&lock_, &attr);
        pthread_rwlockattr_destroy(&attr);
    }
    ~writer_preferring_mutex() { pthread_rwlock_destroy(&lock_); }
    writer_preferring_mutex(const writer_preferring_mutex&) = delete;
    writer_preferring_mutex& operator=(const writer_preferring_mutex&) = delete;

    void lock() { pthread_rwlock_wrlock(&lock_); }
    bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
    void unlock() { pthread_rwlock_unlock(&lock_); }
    void lock_shared() { pthread_rwlock_rdlock(&lock_); }
    bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
    void unlock_shared() { pthread_rwlock_unlock(&lock_); }

private:
    pthread_rwlock_t lock_;
};

// A write naming more distinct ids than this locks the user's writes whole
// (the user's data lock, exclusive) instead of one stripe per id, so that
// no request holds every stripe.
inline constexpr std::size_t max_striped_ids = 256;

// What the urgency of a user's next snapshot counts from (protocol section
// 8): the seq and time of the snapshot in force, or with none seq 0 and the
// time of the oldest commit.
struct urgency_origin {
    std::uint64_t seq = 0;
    std::int64_t since_ms = 0;  // Unix milliseconds
};

// Whether a write relying on `ids` and `more_ids` (repeats allowed) locks its
// user's writes whole.
inline bool locks_whole_user(const std::vector<std::string_view>& ids,
                             const std::vector<std::string_view>& more_ids = {}) {
    std::unordered_set<std::string_view> distinct;
    for (const auto* list : {&ids, &more_ids})
        for (auto id : *list)
            if (distinct.insert(id).second && distinct.size() > max_striped_ids) return true;
    return false;
}

class user_locks {
public:
    static constexpr std::size_t user_entries = 4096;

    // A value an entry remembers for one user (every user the hash puts in
    // the entry shares the slot).
    template <typename T>
    struct remembered {
        uuid user;
        T value;

        static std::optional<T> recall(const std::optional<remembered>& slot, const uuid& user) {
            if (slot && slot->user == user) return slot->value;
            return std::nullopt;
        }
    };

    struct user_entry {
        writer_preferring_mutex data;
        std::mutex head;
        // HEAD as committed, guarded by `head`: a write that puts a new HEAD
        // in a batch forgets it first, and remembers the new one only once
        // the batch is committed; a reader holding `head` may remember what
        // it read, since no other HEAD can be committed meanwhile. The one
        // exception is the commit pipeline, which holds `head` from a
        // group's first plan to its last settle: there it is the HEAD as
        // planned so far, which the group forgets if its batch is not
        // committed (commit_pipeline.hpp).
        std::optional<remembered<head_state>> head_known;
        // The user's urgency origin, guarded by `head` too: the snapshot in
        // force changes only under it, and with no snapshot the oldest
        // commit stays (history is truncated only up to a snapshot). A
        // write that puts a snapshot, and DELETE, forget it.
        std::optional<remembered<urgency_origin>> origin_known;
    };
    using saved_head_state = std::optional<remembered<head_state>>;

    user_entry& of_user(const uuid& user) { return users_[id_hash{}(user) % user_entries]; }

    // What the user's entry remembers; the caller holds the user's HEAD mutex.
    std::optional<head_state> known_head(const uuid& user) {
        return remembered<head_state>::recall(of_user(user).head_known, user);
    }
    void remember_head(const uuid& user, const head_state& h) { of_user(user).head_known = {user, h}; }
    void forget_head(const uuid& user) { of_user(user).head_known.reset(); }
    // The user's entry's memory of HEAD as it is, and put back as it was.
    saved_head_state saved_head(const uuid& user) { return of_user(user).head_known; }
    void restore_head(const uuid& user, saved_head_state saved) { of_user(user).head_known = std::move(saved); }

    std::optional<urgency_origin> known_origin(const uuid& user) {
        return remembered<urgency_origin>::recall(of_user(user).origin_known, user);
    }
    void remember_origin(const uuid& user, const urgency_origin& o) { of_user(user).origin_known = {user, o}; }
    void forget_origin(const uuid& user) { of_user(user).origin_known.reset(); }

    std::mutex& of_key(const uuid& user, std::string_view id) { return keys_[key_slot(user, id)]; }

    // Locks the mutexes of many keys in slot order, so it cannot deadlock
    // with another multi-key or single-key locker.
    std::vector<std::unique_lock<std::mutex>> lock_keys(const uuid& user, const std::vector<std::string_view>& ids) {
        std::vector<std::unique_lock<std::mutex>> held;
        for (auto slot : slots_of(user, ids)) held.emplace_back(keys_[slot]);
        return held;
    }

    // The key mutexes of `ids` as slots, in the order lock_keys takes them,
    // without repeats; key_at(slot) is each one's mutex.
    std::vector<std::size_t> slots_of(const uuid& user, const std::vector<std::string_view>& ids) const {
        std::vector<std::size_t> slots;
        slots.reserve(ids.size());
        for (auto id : ids) slots.push_back(key_slot(user, id));
        std::sort(slots.begin(), slots.end());
        slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
        return slots;
    }
    std::mutex& key_at(std::size_t slot) { return keys_[slot]; }

private:
    std::size_t key_slot(const uuid& user, std::string_view id) const {
        std::size_t h = id_hash{}(user) ^ (id_hash::hash_bytes(id) * 0x9e3779b97f4a7c15ULL);
        return h % keys_.size();
    }

    std::array<user_entry, user_entries> users_;
    std::array<std::mutex, 4096> keys_;
};

}  // namespace chunklog::storage
