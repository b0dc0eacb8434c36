// Standard base64 (RFC 4648, with padding) for chunk data inside JSON, over
// OpenSSL's EVP encoder. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chunklog {

std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace chunklog
