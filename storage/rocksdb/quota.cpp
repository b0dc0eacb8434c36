#include "storage/rocksdb/quota.hpp"

#include <algorithm>
#include <string>

namespace chunklog::storage {

quota_reservations::reservation::reservation(reservation&& other) noexcept
    : owner_(other.owner_), user_(other.user_), bytes_(other.bytes_), removal_(other.removal_),
      committed_(other.committed_) {
    other.owner_ = nullptr;
}

quota_reservations::reservation::~reservation() {
    if (owner_ != nullptr) owner_->release(user_, bytes_, committed_, removal_);
}

outcome<quota_reservations::reservation> quota_reservations::reserve(
    const uuid& user, std::uint64_t bytes, std::uint64_t limit,
    const std::function<outcome<std::uint64_t>()>& stored_bytes) {
    auto& s = stripe_of(user);
    std::lock_guard lock(s.mutex);
    auto it = s.users.find(user);
    usage current;
    if (it != s.users.end()) {
        current = it->second;
    } else {
        auto stored = stored_bytes();
        if (!stored) return stored.error();
        current.stored = *stored;
    }
    // stored + reserved + bytes <= limit, without overflow.
    auto taken = current.stored + current.reserved;
    bool fits = taken >= current.stored && taken <= limit && bytes <= limit - taken;
    if (!fits) {
        auto message = "the user's quota of " + std::to_string(limit) + " bytes would be exceeded: " +
                       std::to_string(current.stored) + " bytes are stored";
        if (current.reserved != 0) message += ", " + std::to_string(current.reserved) + " more are being written";
        message += ", and this request adds " + std::to_string(bytes) + " new bytes";
        return make_error(errc::quota_exceeded, std::move(message));
    }
    if (it == s.users.end()) it = s.users.emplace(user, current).first;
    it->second.reserved += bytes;
    ++it->second.writers;
    return reservation(*this, user, bytes);
}

outcome<quota_reservations::reservation> quota_reservations::hold_removal(
    const uuid& user, std::uint64_t bytes, const std::function<outcome<std::uint64_t>()>& stored_bytes) {
    auto& s = stripe_of(user);
    std::lock_guard lock(s.mutex);
    auto it = s.users.find(user);
    if (it == s.users.end()) {
        auto stored = stored_bytes();
        if (!stored) return stored.error();
        it = s.users.emplace(user, usage{*stored, 0, 0}).first;
    }
    ++it->second.writers;
    return reservation(*this, user, bytes, true);
}

void quota_reservations::release(const uuid& user, std::uint64_t bytes, bool committed, bool removal) noexcept {
    auto& s = stripe_of(user);
    std::lock_guard lock(s.mutex);
    auto it = s.users.find(user);
    if (it == s.users.end()) return;  // unreachable: a reservation keeps its entry
    auto& u = it->second;
    if (removal) {
        if (committed) u.stored -= std::min(bytes, u.stored);
    } else {
        u.reserved -= bytes;
        if (committed) u.stored += bytes;
    }
    if (--u.writers == 0) s.users.erase(it);
}

}  // namespace chunklog::storage
