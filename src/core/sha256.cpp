#include <chunklog/sha256.hpp>

#include <openssl/evp.h>

#include <stdexcept>

namespace chunklog {
namespace {

// Fetched once: with OpenSSL 3, initialising from EVP_sha256() looks the
// implementation up again on every call, which costs more than hashing a
// small chunk.
const EVP_MD* sha256_algorithm() {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

}  // namespace

struct sha256_hasher::context {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ~context() { EVP_MD_CTX_free(md); }

    void reset() {
        if (md == nullptr || sha256_algorithm() == nullptr || EVP_DigestInit_ex2(md, sha256_algorithm(), nullptr) != 1)
            throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
    }
};

sha256_hasher::sha256_hasher() : ctx_(std::make_unique<context>()) { ctx_->reset(); }
sha256_hasher::~sha256_hasher() = default;
sha256_hasher::sha256_hasher(sha256_hasher&&) noexcept = default;
sha256_hasher& sha256_hasher::operator=(sha256_hasher&&) noexcept = default;

void sha256_hasher::update(const void* data, std::size_t size) {
    if (size != 0) EVP_DigestUpdate(ctx_->md, data, size);
}

void sha256_hasher::update(std::string_view bytes) { update(bytes.data(), bytes.size()); }

digest sha256_hasher::finish() {
    digest::bytes_type out{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_->md, out.data(), &length);
    ctx_->reset();
    return digest{out};
}

digest sha256_of(std::string_view bytes) {
    thread_local sha256_hasher h;  // finish() leaves it ready for the next digest
    h.update(bytes);
    return h.finish();
}

}  // namespace chunklog
