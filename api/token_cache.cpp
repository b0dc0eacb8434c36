#include "api/token_cache.hpp"

#include <algorithm>

namespace chunklog::api {

token_cache::token_cache(std::size_t capacity, std::chrono::seconds ttl)
    : per_shard_(std::max<std::size_t>(1, capacity / shard_count)), ttl_(ttl) {}

std::optional<storage::token_record> token_cache::find(const digest& secret_hash, clock::time_point now) {
    auto& s = shard_of(secret_hash);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(secret_hash);
    if (it == s.index.end()) return std::nullopt;
    if (now - it->second->fetched >= ttl_) {
        s.lru.erase(it->second);
        s.index.erase(it);
        return std::nullopt;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->token;
}

void token_cache::insert(const digest& secret_hash, const storage::token_record& token, clock::time_point now) {
    auto& s = shard_of(secret_hash);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(secret_hash); it != s.index.end()) {
        s.lru.erase(it->second);
        s.index.erase(it);
    }
    s.lru.push_front(entry{secret_hash, token, now});
    s.index.emplace(secret_hash, s.lru.begin());
    while (s.lru.size() > per_shard_) {
        s.index.erase(s.lru.back().key);
        s.lru.pop_back();
    }
}

void token_cache::forget(const digest& secret_hash) {
    auto& s = shard_of(secret_hash);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(secret_hash); it != s.index.end()) {
        s.lru.erase(it->second);
        s.index.erase(it);
    }
}

void token_cache::clear() {
    for (auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        s.lru.clear();
        s.index.clear();
    }
}

std::size_t token_cache::size() {
    std::size_t total = 0;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        total += s.lru.size();
    }
    return total;
}

}  // namespace chunklog::api
