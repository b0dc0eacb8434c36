// TaskChampion's encrypted envelope (format version 1), which Taskwarrior 3
// seals every history segment and snapshot in: ChaCha20-Poly1305 with a
// 32-byte key from PBKDF2-HMAC-SHA256 (the encryption secret's bytes as
// password, the client id's 16 bytes as salt, 600,000 iterations), a random
// 12-byte nonce, and 17 bytes of associated data, 0x01 then a version id
// (a segment's parent, or a snapshot's own version). The envelope is 0x01,
// the nonce, the ciphertext and the 16-byte tag.
//
// Deriving a key costs about a third of a second of one core, by design:
// derive once per sync and reuse it. A sealing_key is immutable after
// derivation; its member functions are thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <array>
#include <string>
#include <string_view>

namespace chunklog {

class sealing_key {
public:
    static constexpr unsigned pbkdf2_iterations = 600'000;
    static constexpr std::size_t overhead = 1 + 12 + 16;  // envelope bytes beyond the plaintext

    using nonce_type = std::array<unsigned char, 12>;

    static sealing_key derive(std::string_view secret, const uuid& client_id);

    // Seals `plaintext` bound to `version` with a fresh random nonce.
    std::string seal(std::string_view plaintext, const uuid& version) const;
    // The same with a given nonce: for known-answer tests only (a nonce must
    // never be used twice with one key).
    std::string seal(std::string_view plaintext, const uuid& version, const nonce_type& nonce) const;

    // The plaintext, or errc::bad_request saying why not: too short, an
    // unknown envelope version, or (the usual cause) sealed with another
    // secret, client id or version.
    outcome<std::string> open(std::string_view envelope, const uuid& version) const;

    const std::array<unsigned char, 32>& bytes() const { return key_; }

private:
    std::array<unsigned char, 32> key_{};
};

}  // namespace chunklog
