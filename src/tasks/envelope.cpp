#include <chunklog/tasks/envelope.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace chunklog {
namespace {

constexpr unsigned char envelope_version = 1;
constexpr unsigned char app_id = 1;
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;

using cipher_context = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::array<unsigned char, 17> associated_data(const uuid& version) {
    std::array<unsigned char, 17> aad{};
    aad[0] = app_id;
    const auto& raw = version.bytes();
    std::copy(raw.begin(), raw.end(), aad.begin() + 1);
    return aad;
}

// A ChaCha20-Poly1305 context keyed for one seal or open, with the
// associated data already fed.
cipher_context start(const std::array<unsigned char, 32>& key, const unsigned char* nonce, const uuid& version,
                     bool encrypt) {
    cipher_context ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    auto aad = associated_data(version);
    int ignored = 0;
    if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, key.data(), nonce, encrypt ? 1 : 0) != 1 ||
        EVP_CipherUpdate(ctx.get(), nullptr, &ignored, aad.data(), static_cast<int>(aad.size())) != 1)
        throw std::runtime_error("OpenSSL: cannot start ChaCha20-Poly1305");
    return ctx;
}

}  // namespace

sealing_key sealing_key::derive(std::string_view secret, const uuid& client_id) {
    sealing_key k;
    const auto& salt = client_id.bytes();
    if (PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()), salt.data(), static_cast<int>(salt.size()),
                          pbkdf2_iterations, EVP_sha256(), static_cast<int>(k.key_.size()), k.key_.data()) != 1)
        throw std::runtime_error("OpenSSL: PBKDF2 failed");
    return k;
}

std::string sealing_key::seal(std::string_view plaintext, const uuid& version) const {
    nonce_type nonce;
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("OpenSSL: no random bytes for a nonce");
    return seal(plaintext, version, nonce);
}

std::string sealing_key::seal(std::string_view plaintext, const uuid& version, const nonce_type& nonce) const {
    auto ctx = start(key_, nonce.data(), version, true);
    std::string out(1 + nonce_bytes + plaintext.size() + tag_bytes, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    p[0] = envelope_version;
    std::copy(nonce.begin(), nonce.end(), p + 1);
    int n = 0, final_n = 0;
    if (EVP_CipherUpdate(ctx.get(), p + 1 + nonce_bytes, &n, reinterpret_cast<const unsigned char*>(plaintext.data()),
                         static_cast<int>(plaintext.size())) != 1 ||
        EVP_CipherFinal_ex(ctx.get(), p + 1 + nonce_bytes + n, &final_n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, tag_bytes, p + 1 + nonce_bytes + plaintext.size()) != 1)
        throw std::runtime_error("OpenSSL: ChaCha20-Poly1305 sealing failed");
    return out;
}

outcome<std::string> sealing_key::open(std::string_view envelope, const uuid& version) const {
    if (envelope.size() <= 1 + nonce_bytes) return make_error(errc::bad_request, "encryption envelope is too small");
    auto* p = reinterpret_cast<const unsigned char*>(envelope.data());
    if (p[0] != envelope_version)
        return make_error(errc::bad_request, "unrecognized encryption envelope version " + std::to_string(p[0]));
    if (envelope.size() < 1 + nonce_bytes + tag_bytes)
        return make_error(errc::bad_request, "encryption envelope is too small");
    auto ciphertext_bytes = envelope.size() - 1 - nonce_bytes - tag_bytes;
    auto ctx = start(key_, p + 1, version, false);
    std::string out(ciphertext_bytes, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int n = 0, final_n = 0;
    std::array<unsigned char, tag_bytes> tag;
    std::copy(p + envelope.size() - tag_bytes, p + envelope.size(), tag.begin());
    bool opened = EVP_CipherUpdate(ctx.get(), o, &n, p + 1 + nonce_bytes, static_cast<int>(ciphertext_bytes)) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, tag_bytes, tag.data()) == 1 &&
                  EVP_CipherFinal_ex(ctx.get(), o + n, &final_n) == 1;
    if (!opened)
        return make_error(errc::bad_request,
                          "the data does not decrypt: sealed with another encryption secret, client id or version");
    return out;
}

}  // namespace chunklog
