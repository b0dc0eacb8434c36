// The quantities a user types: durations ("90", "30s", "15m", "12h", "30d",
// protocol section 7: seconds when no unit) and byte counts ("1048576",
// "512K", "10G": K, M, G, T are powers of 1024). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace chunklog::cli {

// A whole number of seconds >= 1, at most 100 years; nullopt for anything else.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
// A whole number of bytes (0 included) that fits in 64 bits; nullopt for anything else.
std::optional<std::uint64_t> parse_byte_count(std::string_view text);

}  // namespace chunklog::cli
