#include <chunklog/ids.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace chunklog {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Each byte's value as one lowercase hex digit, or -1: ids are parsed from
// every request's path, and a table costs one load per digit.
constexpr std::array<std::int8_t, 256> lower_hex_values = [] {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    for (int c = '0'; c <= '9'; ++c) values[c] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) values[c] = static_cast<std::int8_t>(c - 'a' + 10);
    return values;
}();

int lower_hex_value(char c) { return lower_hex_values[static_cast<unsigned char>(c)]; }

// Decodes lowercase hex into exactly out.size() bytes; false on any bad digit.
// A bad digit's -1 sets every bit of `bad`: one test at the end.
template <std::size_t N>
bool decode_lower_hex(std::string_view hex, std::array<std::uint8_t, N>& out) {
    if (hex.size() != 2 * N) return false;
    int bad = 0;
    for (std::size_t i = 0; i < N; ++i) {
        int high = lower_hex_value(hex[2 * i]);
        int low = lower_hex_value(hex[2 * i + 1]);
        bad |= high | low;
        out[i] = static_cast<std::uint8_t>(static_cast<unsigned>(high) << 4 | static_cast<unsigned>(low));
    }
    return bad >= 0;
}

// Each byte's two lowercase hex digits: ids are written into every answer's
// headers and bodies, and a table costs one two-byte copy per byte.
constexpr std::array<std::array<char, 2>, 256> byte_hex_pairs = [] {
    std::array<std::array<char, 2>, 256> pairs{};
    for (int b = 0; b < 256; ++b) pairs[b] = {hex_digits[b >> 4], hex_digits[b & 0x0f]};
    return pairs;
}();

template <std::size_t N>
std::string encode_lower_hex(const std::array<std::uint8_t, N>& bytes) {
    std::string out(2 * N, '\0');
    char* p = out.data();
    for (std::uint8_t b : bytes) p = std::copy_n(byte_hex_pairs[b].data(), 2, p);
    return out;
}

template <typename Id>
std::optional<Id> id_from_raw(std::string_view raw) {
    typename Id::bytes_type b{};
    if (raw.size() != b.size()) return std::nullopt;
    std::copy(raw.begin(), raw.end(), b.begin());
    return Id{b};
}

constexpr std::size_t uuid_text_size = 36;
constexpr std::array<std::size_t, 4> uuid_dashes{8, 13, 18, 23};
// Where each byte's two digits start in the text form.
constexpr std::array<std::size_t, 16> uuid_digit_pairs{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

}  // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
    if (text.size() != uuid_text_size) return std::nullopt;
    for (std::size_t pos : uuid_dashes)
        if (text[pos] != '-') return std::nullopt;
    bytes_type b{};
    int bad = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        int high = lower_hex_value(text[uuid_digit_pairs[i]]);
        int low = lower_hex_value(text[uuid_digit_pairs[i] + 1]);
        bad |= high | low;
        b[i] = static_cast<std::uint8_t>(static_cast<unsigned>(high) << 4 | static_cast<unsigned>(low));
    }
    if (bad < 0) return std::nullopt;
    return uuid{b};
}

std::optional<uuid> uuid::from_bytes(std::string_view raw) { return id_from_raw<uuid>(raw); }

uuid uuid::random() {
    bytes_type b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw std::runtime_error("OpenSSL: no random bytes");
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return uuid{b};
}

std::string uuid::to_string() const {
    std::string text(uuid_text_size, '-');
    for (std::size_t i = 0; i < bytes_.size(); ++i)
        std::copy_n(byte_hex_pairs[bytes_[i]].data(), 2, text.data() + uuid_digit_pairs[i]);
    return text;
}

std::optional<digest> digest::parse(std::string_view hex) {
    bytes_type b{};
    if (!decode_lower_hex(hex, b)) return std::nullopt;
    return digest{b};
}

std::optional<digest> digest::from_bytes(std::string_view raw) { return id_from_raw<digest>(raw); }

std::string digest::to_string() const { return encode_lower_hex(bytes_); }

// Eight bytes at a time (ids are 16 or 32), each word folded in with a
// multiply so that every bit reaches the result; a byte at a time cost 13
// instructions a byte.
std::size_t id_hash::hash_bytes(std::string_view raw) noexcept {
    std::uint64_t h = raw.size();
    auto fold = [&h](std::uint64_t word) {
        h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    };
    std::size_t i = 0;
    for (; i + 8 <= raw.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, raw.data() + i, 8);
        fold(word);
    }
    if (i < raw.size()) {
        std::uint64_t word = 0;
        std::memcpy(&word, raw.data() + i, raw.size() - i);
        fold(word);
    }
    return static_cast<std::size_t>(h);
}

}  // namespace chunklog
