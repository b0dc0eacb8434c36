// Token secrets and their text: fresh secrets and public ids from OpenSSL's
// CSPRNG, the Authorization header's bearer token (or Basic password), and the RFC 3339 times of
// token records. Pure functions (the generators draw from the CSPRNG);
// thread-safe.
#pragma once

#include <chunklog/ids.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chunklog::api {

// "clt_" and 43 characters of [A-Za-z0-9_-] (256 random bits).
std::string new_token_secret();
// 16 characters of [A-Za-z0-9_-] (96 random bits): a token's public name.
std::string new_token_id();

// Printable ASCII without spaces, 1 to 256 characters (protocol section 7).
bool valid_token_text(std::string_view token);
// The token of "Bearer TOKEN" (scheme case-insensitive); nullopt when the
// header is absent, of another scheme, or the token is not valid text.
std::optional<std::string_view> bearer_token(std::string_view authorization);
// The password of "Basic base64(user:password)" (scheme case-insensitive;
// the user name is ignored); nullopt when the header is absent, of another
// scheme, not canonical base64 of a user:password pair, or the password is
// not valid token text.
std::optional<std::string> basic_password(std::string_view authorization);

// "2026-11-30T12:00:00Z"
std::string rfc3339(std::int64_t unix_seconds);
std::int64_t unix_now();

}  // namespace chunklog::api
