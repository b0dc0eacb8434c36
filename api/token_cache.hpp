// token_cache: verified device tokens kept in memory, so that checking a
// token costs no disk read on the hot path. Keyed by the SHA-256 of the
// secret; bounded (least recently used entries go first); an entry is
// trusted for a fixed time, then read again. Revocation through this server,
// or through another node of the same PostgreSQL store, forgets the token at
// once. Thread-safe (sharded mutexes).
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/storage/log_store.hpp>

#include <array>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace chunklog::api {

class token_cache {
public:
    using clock = std::chrono::steady_clock;

    token_cache(std::size_t capacity, std::chrono::seconds ttl);

    // The cached record, when present and not older than the ttl.
    std::optional<storage::token_record> find(const digest& secret_hash, clock::time_point now = clock::now());
    void insert(const digest& secret_hash, const storage::token_record& token, clock::time_point now = clock::now());
    void forget(const digest& secret_hash);
    void clear();
    std::size_t size();

private:
    struct entry {
        digest key;
        storage::token_record token;
        clock::time_point fetched;
    };
    struct shard {
        std::mutex mutex;
        std::list<entry> lru;  // most recently used first
        std::unordered_map<digest, std::list<entry>::iterator, id_hash> index;
    };
    static constexpr std::size_t shard_count = 16;

    shard& shard_of(const digest& key) { return shards_[id_hash{}(key) % shard_count]; }

    std::size_t per_shard_;
    std::chrono::seconds ttl_;
    std::array<shard, shard_count> shards_;
};

}  // namespace chunklog::api
