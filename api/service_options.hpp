// Limits and switches of the HTTP service, as GET /limits reports them.
// A plain value, read-only once the server runs.
#pragma once

#include <cstddef>

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
};

struct service_options {
    service_limits limits;
    bool allow_delete = true;
};

}  // namespace chunklog::api
