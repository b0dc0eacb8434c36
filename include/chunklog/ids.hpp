// Identifiers of the chunklog model: user and transaction ids (canonical
// lowercase UUIDs) and chunk ids (lowercase hex SHA-256 digests).
//
// Values are small, regular and immutable once built; they are safe to share
// between threads like any const object.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chunklog {

// A 16-byte id written as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (lowercase hex).
class uuid {
public:
    static constexpr std::size_t size = 16;
    using bytes_type = std::array<std::uint8_t, size>;

    constexpr uuid() = default;
    explicit constexpr uuid(const bytes_type& b) : bytes_(b) {}

    // Accepts only the canonical lowercase form; anything else is nullopt.
    static std::optional<uuid> parse(std::string_view text);
    // A fresh random (version 4) id from the system's CSPRNG.
    static uuid random();
    // Builds a uuid from exactly 16 raw bytes (as stored in keys).
    static std::optional<uuid> from_bytes(std::string_view raw);

    std::string to_string() const;
    std::string_view raw() const {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }
    const bytes_type& bytes() const { return bytes_; }
    bool is_root() const { return *this == uuid{}; }

    friend auto operator<=>(const uuid&, const uuid&) = default;

private:
    bytes_type bytes_{};
};

// The reserved root transaction, 00000000-0000-0000-0000-000000000000.
inline constexpr uuid root_id{};

// A SHA-256 digest written as 64 lowercase hex characters.
class digest {
public:
    static constexpr std::size_t size = 32;
    using bytes_type = std::array<std::uint8_t, size>;

    constexpr digest() = default;
    explicit constexpr digest(const bytes_type& b) : bytes_(b) {}

    static std::optional<digest> parse(std::string_view hex);
    static std::optional<digest> from_bytes(std::string_view raw);

    std::string to_string() const;
    std::string_view raw() const {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }
    const bytes_type& bytes() const { return bytes_; }

    friend auto operator<=>(const digest&, const digest&) = default;

private:
    bytes_type bytes_{};
};

// Hash support so ids can key unordered containers.
struct id_hash {
    std::size_t operator()(const uuid& u) const noexcept { return hash_bytes(u.raw()); }
    std::size_t operator()(const digest& d) const noexcept { return hash_bytes(d.raw()); }
    static std::size_t hash_bytes(std::string_view raw) noexcept;
};

}  // namespace chunklog
