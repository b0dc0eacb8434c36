// base64_decode against OpenSSL's EVP_DecodeBlock, and the round trip.
//
// The input is used twice. As text: base64_decode must accept it exactly
// when it is canonical padded base64 (alphabet only, length a multiple of
// four, '=' only as one or two final characters, the bits the padding
// leaves over zero), and then give the bytes
// EVP_DecodeBlock gives. EVP_DecodeBlock is lax (it skips whitespace and
// counts padding as zero bytes), so it is asked only about canonical text
// and the padding bytes are trimmed from its answer. As bytes:
// base64_decode(base64_encode(x)) == x.
#include <chunklog/base64.hpp>

#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

bool in_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

unsigned value_of(char c) {
    if (c >= 'A' && c <= 'Z') return static_cast<unsigned>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<unsigned>(c - 'a') + 26;
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0') + 52;
    return c == '+' ? 62 : 63;
}

// The number of padding characters when `text` is canonical padded base64.
std::optional<std::size_t> canonical_padding(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
    for (std::size_t i = 0; i < text.size() - padding; ++i)
        if (!in_alphabet(text[i])) return std::nullopt;
    // One '=' leaves 2 bits of the last character over, two leave 4: zero in canonical text.
    if (padding > 0 && (value_of(text[text.size() - 1 - padding]) & ((1u << (2 * padding)) - 1)) != 0)
        return std::nullopt;
    return padding;
}

[[noreturn]] void fail(const char* what, std::string_view input) {
    std::fprintf(stderr, "base64_fuzz: %s\n  input (%zu bytes): \"", what, input.size());
    for (unsigned char c : input) std::fprintf(stderr, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    std::fprintf(stderr, "\"\n");
    std::abort();
}

void check_decode(std::string_view text) {
    auto decoded = chunklog::base64_decode(text);
    auto padding = canonical_padding(text);
    if (decoded.has_value() != padding.has_value())
        fail(decoded ? "base64_decode accepted non-canonical text" : "base64_decode refused canonical text", text);
    if (!padding || text.empty()) return;

    std::vector<unsigned char> out(text.size() / 4 * 3);
    int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n != static_cast<int>(out.size())) fail("EVP_DecodeBlock refused canonical text", text);
    out.resize(out.size() - *padding);
    if (std::string_view(reinterpret_cast<const char*>(out.data()), out.size()) != *decoded)
        fail("base64_decode and EVP_DecodeBlock disagree", text);
}

void check_round_trip(std::string_view bytes) {
    auto text = chunklog::base64_encode(bytes);
    if (!canonical_padding(text)) fail("base64_encode wrote non-canonical text", bytes);
    auto back = chunklog::base64_decode(text);
    if (!back || *back != bytes) fail("base64_decode(base64_encode(x)) != x", bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    check_decode(input);
    check_round_trip(input);
    return 0;
}
