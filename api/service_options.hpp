// Limits and switches of the HTTP service, as GET /limits reports them.
// A plain value, read-only once the server runs.
#pragma once

#include <chunklog/ids.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::api {

struct service_limits {
    std::size_t max_chunk_bytes = 16ULL << 20;
    std::size_t max_json_bytes = 1ULL << 20;
    std::size_t max_publish_bytes = 64ULL << 20;
    std::size_t max_publish_chunks = 10'000;
    std::size_t max_publish_transactions = 10'000;
    std::size_t max_chunks_per_transaction = 10'000;
    std::size_t max_missing_query = 10'000;
    std::size_t max_list_limit = 1'000;
    std::size_t max_log_limit = 10'000;
    // A GET log page ends early (more: true) once this many bytes are out;
    // a page still holds at least one whole transaction.
    std::size_t max_log_page_bytes = 32ULL << 20;
    // Each user's limit on stored chunk bytes unless the admin set one (0: none).
    std::uint64_t quota_bytes = 0;
};

enum class auth_mode { token, none };

// Who may call what (protocol section 7).
struct access_options {
    auth_mode auth = auth_mode::token;
    bool open_registration = false;  // POST tokens without a token claims a user that has none
    // SHA-256 of the admin token; the secret itself is not kept.
    std::optional<digest> admin_token_hash;
    unsigned auth_failure_limit = 30;            // failed requests per address and window
    std::chrono::seconds auth_failure_window{60};
    std::size_t limiter_addresses = 65'536;      // addresses the limiter remembers at most
    std::size_t token_cache_entries = 100'000;   // verified tokens kept in memory
    // How long a cached token is trusted before it is read again (revocation
    // through this server takes effect at once; this bounds the delay of a
    // revocation made by another node sharing the database).
    std::chrono::seconds token_cache_ttl{30};
    std::vector<std::string> cors_origins;       // "*" for any
    // Content-Length from which a chunk PUT's quota is checked before its
    // body is read; smaller bodies arrive with the header anyway.
    std::uint64_t early_quota_check_bytes = 64 * 1024;
};

struct service_options {
    service_limits limits;
    access_options access;
    bool allow_delete = true;
    // How often the background garbage collection pass runs (gc_runner;
    // protocol section 9); 0: never (POST /admin/gc still runs one).
    std::chrono::seconds gc_interval{3600};
};

}  // namespace chunklog::api
