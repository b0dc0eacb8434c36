#include <chunklog/ids.hpp>

#include <boost/container_hash/hash.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace chunklog {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// The value of one lowercase hex digit, or -1.
int lower_hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Decodes lowercase hex into exactly out.size() bytes; false on any bad digit.
template <std::size_t N>
bool decode_lower_hex(std::string_view hex, std::array<std::uint8_t, N>& out) {
    if (hex.size() != 2 * N) return false;
    for (std::size_t i = 0; i < N; ++i) {
        int high = lower_hex_value(hex[2 * i]);
        int low = lower_hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    return true;
}

template <std::size_t N>
std::string encode_lower_hex(const std::array<std::uint8_t, N>& bytes) {
    std::string out(2 * N, '\0');
    for (std::size_t i = 0; i < N; ++i) {
        out[2 * i] = hex_digits[bytes[i] >> 4];
        out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
    }
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

}  // namespace

std::optional<uuid> uuid::parse(std::string_view text) {
    if (text.size() != uuid_text_size) return std::nullopt;
    std::array<char, 32> hex{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        bool dash_here = std::find(uuid_dashes.begin(), uuid_dashes.end(), i) != uuid_dashes.end();
        if (dash_here != (text[i] == '-')) return std::nullopt;
        if (!dash_here) hex[n++] = text[i];
    }
    bytes_type b{};
    if (!decode_lower_hex(std::string_view(hex.data(), hex.size()), b)) return std::nullopt;
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
    std::string hex = encode_lower_hex(bytes_);
    for (std::size_t pos : uuid_dashes) hex.insert(pos, 1, '-');
    return hex;
}

std::optional<digest> digest::parse(std::string_view hex) {
    bytes_type b{};
    if (!decode_lower_hex(hex, b)) return std::nullopt;
    return digest{b};
}

std::optional<digest> digest::from_bytes(std::string_view raw) { return id_from_raw<digest>(raw); }

std::string digest::to_string() const { return encode_lower_hex(bytes_); }

std::size_t id_hash::hash_bytes(std::string_view raw) noexcept {
    return boost::hash_range(raw.begin(), raw.end());
}

}  // namespace chunklog
