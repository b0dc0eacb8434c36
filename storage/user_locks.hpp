// Striped lock tables that order the log store's writers.
//
// Per user (hashed into a fixed table): a shared mutex that every write takes
// shared and DELETE takes exclusive, and a HEAD mutex that serializes HEAD
// advances. Per key (user plus id, hashed): a mutex that makes the
// check-then-insert of one chunk or transaction atomic. A hash collision only
// costs some contention, never correctness. Thread-safe; the table lives as
// long as the store.
#pragma once

#include <chunklog/ids.hpp>

#include <array>
#include <mutex>
#include <shared_mutex>
#include <string_view>

namespace chunklog::storage {

class user_locks {
public:
    struct user_entry {
        std::shared_mutex data;
        std::mutex head;
    };

    user_entry& of_user(const uuid& user) { return users_[id_hash{}(user) % users_.size()]; }

    std::mutex& of_key(const uuid& user, std::string_view id) {
        std::size_t h = id_hash{}(user) ^ (id_hash::hash_bytes(id) * 0x9e3779b97f4a7c15ULL);
        return keys_[h % keys_.size()];
    }

private:
    std::array<user_entry, 256> users_;
    std::array<std::mutex, 4096> keys_;
};

}  // namespace chunklog::storage
