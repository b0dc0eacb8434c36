#include "cli/units.hpp"

#include <charconv>
#include <limits>
#include <utility>

namespace chunklog::cli {
namespace {

// The number before a one-letter unit, and the unit's factor.
struct amount {
    std::uint64_t number = 0;
    std::uint64_t factor = 1;
};

// `text` as digits and an optional unit letter from `units` (each with its factor).
template <std::size_t N>
std::optional<amount> parse_amount(std::string_view text, const std::pair<char, std::uint64_t> (&units)[N]) {
    amount a;
    if (!text.empty())
        for (const auto& [letter, factor] : units)
            if (text.back() == letter) {
                a.factor = factor;
                text.remove_suffix(1);
                break;
            }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), a.number);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (a.number > std::numeric_limits<std::uint64_t>::max() / a.factor) return std::nullopt;
    return a;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    constexpr std::uint64_t day = 86400, max_seconds = 100 * 365 * day;
    static constexpr std::pair<char, std::uint64_t> units[]{{'s', 1}, {'m', 60}, {'h', 3600}, {'d', day}};
    auto a = parse_amount(text, units);
    if (!a || a->number == 0 || a->number > max_seconds / a->factor) return std::nullopt;
    return std::chrono::seconds(static_cast<std::int64_t>(a->number * a->factor));
}

std::optional<std::uint64_t> parse_byte_count(std::string_view text) {
    static constexpr std::pair<char, std::uint64_t> units[]{
        {'K', 1ull << 10}, {'M', 1ull << 20}, {'G', 1ull << 30}, {'T', 1ull << 40}};
    auto a = parse_amount(text, units);
    if (!a) return std::nullopt;
    return a->number * a->factor;
}

}  // namespace chunklog::cli
