// Plain records exchanged between the layers: a transaction as the protocol
// describes it, and a user's HEAD. Value types, no synchronization.
#pragma once

#include <chunklog/ids.hpp>

#include <cstdint>
#include <vector>

namespace chunklog {

struct transaction_record {
    uuid id;
    uuid parent;
    std::uint64_t seq = 0;       // parent.seq + 1, assigned by the server
    std::vector<digest> chunks;  // ordered, may be empty, may repeat

    friend bool operator==(const transaction_record&, const transaction_record&) = default;
};

struct head_state {
    uuid head = root_id;
    std::uint64_t seq = 0;

    friend bool operator==(const head_state&, const head_state&) = default;
};

// What GET /0.1/{user} reports.
struct user_summary {
    head_state head;
    std::uint64_t transactions = 0;  // committed transactions still stored (head seq minus truncated history)
    std::uint64_t chunks = 0;        // stored chunks
    std::uint64_t bytes = 0;         // their total size
};

}  // namespace chunklog
