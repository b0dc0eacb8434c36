// rules: what both stores decide the same way, whatever they store in: the
// urgency of a new snapshot (protocol section 8), which token ids are
// valid, TaskChampion's snapshot window (section 12), and the pacing of a
// garbage collection pass (section 9). Private to the stores. The functions
// are pure and thread-safe; a gc_pacer belongs to one pass (one thread).
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace chunklog::storage::rules {

// How urgent a new snapshot is `count` committed transactions and `age_ms`
// after the snapshot in force (or, without one, after the first commit):
// low from `after` transactions or `max_age`, high from 1.5 times either
// (0 turns a criterion off).
snapshot_urgency urgency(std::uint64_t count, std::int64_t age_ms, std::uint64_t after,
                         std::chrono::milliseconds max_age);

inline constexpr std::size_t max_token_id = 64;
// 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'.
bool valid_token_id(std::string_view id);

// TaskChampion keeps a snapshot only of HEAD or one of its 4 nearest ancestors.
inline constexpr std::uint64_t version_snapshot_depth = 4;

// Paces a garbage collection pass: between batches it rests, holding
// nothing, so that it works only `duty` of its time, and it stops once
// `stop` is set (reporting it in `stopped`).
class gc_pacer {
public:
    gc_pacer(double duty, const std::atomic<bool>* stop, bool& stopped) : duty_(duty), stop_(stop), stopped_(stopped) {}

    // Rests as long as the work since the last rest calls for, then says whether to stop.
    bool rest_or_stop();
    bool stopping();

private:
    double duty_;
    const std::atomic<bool>* stop_;
    bool& stopped_;
    std::chrono::steady_clock::time_point working_since_ = std::chrono::steady_clock::now();
};

}  // namespace chunklog::storage::rules
