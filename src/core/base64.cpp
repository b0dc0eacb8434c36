#include <chunklog/base64.hpp>

#include <openssl/evp.h>

#include <array>
#include <cstdint>

namespace chunklog {
namespace {

// An impossible 6-bit value: any bit above the low six marks a character
// outside the alphabet, so one test covers the four of a group.
constexpr std::uint8_t invalid = 0xff;

// The 6-bit value of each base64 character, or `invalid`.
constexpr std::array<std::uint8_t, 256> decoding_table() {
    std::array<std::uint8_t, 256> table{};
    table.fill(invalid);
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
    return table;
}

constexpr auto values = decoding_table();

// The 24 bits of four characters, or nullopt when one is outside the
// alphabet.
std::optional<std::uint32_t> decode_group(const char* text) {
    std::uint32_t a = values[static_cast<unsigned char>(text[0])];
    std::uint32_t b = values[static_cast<unsigned char>(text[1])];
    std::uint32_t c = values[static_cast<unsigned char>(text[2])];
    std::uint32_t d = values[static_cast<unsigned char>(text[3])];
    if ((a | b | c | d) > 63) return std::nullopt;
    return a << 18 | b << 12 | c << 6 | d;
}

void put_bytes(std::uint32_t group, std::size_t count, char* out) {
    for (std::size_t k = 0; k < count; ++k) out[k] = static_cast<char>(group >> (16 - 8 * k) & 0xff);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    if (bytes.empty()) return out;
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// One pass that validates and decodes: only the alphabet, length a multiple
// of four, '=' only as one or two final characters, zero padding bits.
// Every group but the last has no padding and is decoded whole.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    if (text.empty()) return std::string();
    std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
    std::string out(3 * text.size() / 4 - padding, '\0');
    std::size_t last = text.size() - 4;
    char* o = out.data();
    for (std::size_t i = 0; i < last; i += 4, o += 3) {
        auto group = decode_group(text.data() + i);
        if (!group) return std::nullopt;
        put_bytes(*group, 3, o);
    }
    // The last group, its padding read as 'A' (zero bits), which must then
    // leave the bits past the last byte zero ("QR==" is not "QQ==").
    std::array<char, 4> tail{};
    for (std::size_t k = 0; k < 4; ++k) tail[k] = k < 4 - padding ? text[last + k] : 'A';
    auto group = decode_group(tail.data());
    if (!group) return std::nullopt;
    if (padding > 0 && (*group & ((1u << (8 * padding)) - 1)) != 0) return std::nullopt;
    put_bytes(*group, 3 - padding, o);
    return out;
}

}  // namespace chunklog
