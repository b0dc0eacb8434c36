#include <chunklog/base64.hpp>

#include <openssl/evp.h>

#include <array>
#include <cstdint>

namespace chunklog {
namespace {

constexpr signed char invalid = -1;

// The 6-bit value of each base64 character, or `invalid`.
constexpr std::array<signed char, 256> decoding_table() {
    std::array<signed char, 256> table{};
    table.fill(invalid);
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    return table;
}

constexpr auto values = decoding_table();

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
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
    std::string out;
    out.resize(3 * text.size() / 4 - padding);
    std::size_t o = 0;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        std::uint32_t group = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            auto c = static_cast<unsigned char>(text[i + k]);
            if (last && c == '=' && k >= 4 - padding) {
                group <<= 6;
                continue;
            }
            auto v = values[c];
            if (v == invalid) return std::nullopt;
            group = group << 6 | static_cast<std::uint32_t>(v);
        }
        auto produced = last ? 3 - padding : 3;
        // Canonical text leaves the bits past the last byte zero ("QR==" is not "QQ==").
        if (last && padding > 0 && (group & ((1u << (8 * padding)) - 1)) != 0) return std::nullopt;
        for (std::size_t b = 0; b < produced; ++b) out[o++] = static_cast<char>(group >> (16 - 8 * b) & 0xff);
    }
    return out;
}

}  // namespace chunklog
