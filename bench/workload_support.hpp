// Pieces shared by the load workloads: seeded ids, unique payloads of a given
// size, and turning an HTTP answer into an op_outcome. Pure helpers; a
// chunk_maker is immutable after construction and safe to share.
#pragma once

#include "bench/workloads.hpp"

#include <chunklog/ids.hpp>

#include <algorithm>
#include <random>
#include <string>

namespace chunklog::bench {

inline const std::string root_text = "00000000-0000-0000-0000-000000000000";

inline uuid seeded_user(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    uuid::bytes_type b{};
    for (auto& byte : b) byte = static_cast<std::uint8_t>(rng());
    return uuid{b};
}

// Unique payloads of the given size: a counter prefix over a seeded pattern
// of arbitrary bytes, or of lowercase letters when it must travel as JSON text.
class chunk_maker {
public:
    enum class alphabet { bytes, letters };
    chunk_maker(std::size_t size, std::uint64_t seed, alphabet kind = alphabet::bytes) : pattern_(size, '\0') {
        std::mt19937_64 rng(seed);
        for (auto& c : pattern_)
            c = kind == alphabet::bytes ? static_cast<char>(rng()) : static_cast<char>('a' + rng() % 26);
    }
    std::string make(std::uint64_t a, std::uint64_t b) const {
        std::string bytes = pattern_;
        auto tag = std::to_string(a) + ":" + std::to_string(b) + ":";
        bytes.replace(0, std::min(tag.size(), bytes.size()), tag.substr(0, bytes.size()));
        return bytes;
    }

private:
    std::string pattern_;
};

inline op_outcome outcome_of(const http_result& r, unsigned expected, unsigned also_ok = 0) {
    if (r.status == expected || (also_ok != 0 && r.status == also_ok)) return {true, {}, r.bytes, 0};
    if (r.status == 0) return {false, r.failure.empty() ? "connection" : r.failure, r.bytes, 0};
    return {false, "status " + std::to_string(r.status), r.bytes, 0};
}

// A workload whose connections spread over options.users seeded users.
class user_workload : public workload {
public:
    std::optional<uuid> user_of(unsigned connection) const override {
        return seeded_user(options_.seed * 7919 + connection % options_.users);
    }

protected:
    explicit user_workload(const bench_options& o) : options_(o) {}
    std::string user_path(unsigned connection) const { return "/0.1/" + user_of(connection)->to_string(); }
    const bench_options& options_;
};

}  // namespace chunklog::bench
