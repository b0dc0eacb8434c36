#include "storage/rules.hpp"

#include <algorithm>
#include <limits>
#include <thread>

namespace chunklog::storage::rules {
namespace {

// value >= 1.5 * limit, without overflow.
bool reaches_one_and_a_half(std::uint64_t value, std::uint64_t limit) {
    auto half = limit / 2 + limit % 2;
    if (limit > std::numeric_limits<std::uint64_t>::max() - half) return false;
    return value >= limit + half;
}

// The longest a rest sleeps before looking at the stop flag again.
constexpr auto rest_slice = std::chrono::milliseconds(20);

}  // namespace

snapshot_urgency urgency(std::uint64_t count, std::int64_t age_ms, std::uint64_t after,
                         std::chrono::milliseconds max_age) {
    auto age = static_cast<std::uint64_t>(std::max<std::int64_t>(0, age_ms));
    auto limit_age = static_cast<std::uint64_t>(std::max<std::int64_t>(0, max_age.count()));
    bool by_count_high = after != 0 && reaches_one_and_a_half(count, after);
    bool by_age_high = limit_age != 0 && reaches_one_and_a_half(age, limit_age);
    if (by_count_high || by_age_high) return snapshot_urgency::high;
    bool by_count = after != 0 && count >= after;
    bool by_age = limit_age != 0 && age >= limit_age;
    return by_count || by_age ? snapshot_urgency::low : snapshot_urgency::none;
}

bool valid_token_id(std::string_view id) {
    return !id.empty() && id.size() <= max_token_id && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool gc_pacer::stopping() {
    if (stop_ == nullptr || !stop_->load(std::memory_order_relaxed)) return false;
    stopped_ = true;
    return true;
}

bool gc_pacer::rest_or_stop() {
    using clock = std::chrono::steady_clock;
    if (duty_ < 1.0) {
        auto worked = clock::now() - working_since_;
        auto until = clock::now() + std::chrono::duration_cast<clock::duration>(worked * ((1.0 - duty_) / duty_));
        while (!stopping() && clock::now() < until)
            std::this_thread::sleep_for(std::min<clock::duration>(rest_slice, until - clock::now()));
        working_since_ = clock::now();
    }
    return stopping();
}

}  // namespace chunklog::storage::rules
