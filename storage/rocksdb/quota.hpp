// quota_reservations: exact per-user quota checks for concurrent writers
// that do not wait for each other's syncs.
//
// A write that adds new chunk bytes for a user under a limit reserves them
// before it commits: the check is stored + reserved + new <= limit, where
// reserved counts the bytes of the user's writes still in flight. The
// reservation is released after the write, and adds its bytes to `stored`
// when the write committed. `stored` is read from the store only when no
// writer of the user is in flight, and kept here from then on until the last
// one is done, so a write that committed and has not released yet is never
// counted twice (no spurious refusal) and no write is missed (no overshoot).
// Callers hold the user's data lock shared across reserve, commit and release,
// so nothing else (DELETE) changes the stored bytes meanwhile. Garbage
// collection, which removes stored bytes under the same shared lock, holds
// a removal across its commit (hold_removal): writers that reserve meanwhile
// count those bytes as still stored (as if they came just before the
// removal), and from its release on `stored` is lower by them. Exact while the
// user's limit stays in force; a limit set while writes are in flight applies
// to the writes that start after it. Thread-safe; striped by user.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace chunklog::storage {

class quota_reservations {
public:
    // Bytes held for one write; released when destroyed.
    class reservation {
    public:
        reservation(reservation&& other) noexcept;
        reservation& operator=(reservation&&) = delete;
        ~reservation();
        // The write succeeded: its bytes are stored now.
        void committed() noexcept { committed_ = true; }

    private:
        friend class quota_reservations;
        reservation(quota_reservations& owner, const uuid& user, std::uint64_t bytes, bool removal = false)
            : owner_(&owner), user_(user), bytes_(bytes), removal_(removal) {}
        quota_reservations* owner_;
        uuid user_;
        std::uint64_t bytes_;
        bool removal_ = false;
        bool committed_ = false;
    };

    // Reserves `bytes` for the user, or errc::quota_exceeded when they do
    // not fit under `limit` (> 0). `stored_bytes` reads the user's stored
    // chunk bytes from the store; it is called under a stripe lock.
    outcome<reservation> reserve(const uuid& user, std::uint64_t bytes, std::uint64_t limit,
                                 const std::function<outcome<std::uint64_t>()>& stored_bytes);

    // Held across a write that removes `bytes` of the user's stored chunks;
    // committed() once that write succeeded.
    outcome<reservation> hold_removal(const uuid& user, std::uint64_t bytes,
                                      const std::function<outcome<std::uint64_t>()>& stored_bytes);

private:
    struct usage {
        std::uint64_t stored = 0;    // as of the first writer in flight, plus commits since
        std::uint64_t reserved = 0;  // bytes of writers in flight
        std::size_t writers = 0;
    };
    struct stripe {
        std::mutex mutex;
        std::unordered_map<uuid, usage, id_hash> users;
    };

    stripe& stripe_of(const uuid& user) { return stripes_[id_hash{}(user) % stripes_.size()]; }
    void release(const uuid& user, std::uint64_t bytes, bool committed, bool removal) noexcept;

    std::array<stripe, 64> stripes_;
};

}  // namespace chunklog::storage
