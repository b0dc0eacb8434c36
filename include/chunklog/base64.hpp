// Standard base64 (RFC 4648, with padding) for chunk data inside JSON.
// Encoding goes through OpenSSL's EVP encoder; decoding is hand-written,
// because EVP_DecodeBlock is lax (it skips whitespace and keeps padding
// bytes) where the protocol wants canonical text only, and is fuzzed
// against it (tests/fuzz/base64_fuzz.cpp). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chunklog {

std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace chunklog
