#include "api/token_secret.hpp"

#include <chunklog/base64.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

namespace chunklog::api {
namespace {

// base64url without padding of `n` fresh random bytes.
std::string random_text(std::size_t n) {
    std::string raw(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("OpenSSL's random generator failed");
    auto text = base64_encode(raw);
    std::replace(text.begin(), text.end(), '+', '-');
    std::replace(text.begin(), text.end(), '/', '_');
    text.erase(std::find(text.begin(), text.end(), '='), text.end());
    return text;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return (x | 0x20) == (y | 0x20);
    });
}

}  // namespace

std::string new_token_secret() { return "clt_" + random_text(32); }
std::string new_token_id() { return random_text(12); }

bool valid_token_text(std::string_view token) {
    return !token.empty() && token.size() <= 256 &&
           std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size() || !iequals_ascii(authorization.substr(0, scheme.size()), scheme))
        return std::nullopt;
    auto token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!valid_token_text(token)) return std::nullopt;
    return token;
}

std::optional<std::string> basic_password(std::string_view authorization) {
    constexpr std::string_view scheme = "basic ";
    if (authorization.size() <= scheme.size() || !iequals_ascii(authorization.substr(0, scheme.size()), scheme))
        return std::nullopt;
    auto encoded = authorization.substr(scheme.size());
    while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
    while (!encoded.empty() && (encoded.back() == ' ' || encoded.back() == '\t')) encoded.remove_suffix(1);
    auto decoded = base64_decode(encoded);
    if (!decoded) return std::nullopt;
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    auto password = decoded->substr(colon + 1);
    if (!valid_token_text(password)) return std::nullopt;
    return password;
}

std::string rfc3339(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace chunklog::api
