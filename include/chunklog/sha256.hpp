// Incremental SHA-256 over OpenSSL's EVP API, for naming and verifying chunks.
//
// A sha256_hasher is a single-owner object: not safe for concurrent use, but
// it may move between threads. sha256_of() is a pure function.
#pragma once

#include <chunklog/ids.hpp>

#include <memory>
#include <string_view>

namespace chunklog {

class sha256_hasher {
public:
    sha256_hasher();
    ~sha256_hasher();
    sha256_hasher(sha256_hasher&&) noexcept;
    sha256_hasher& operator=(sha256_hasher&&) noexcept;

    void update(std::string_view bytes);
    void update(const void* data, std::size_t size);
    // Returns the digest of everything fed so far and resets for reuse.
    digest finish();

private:
    struct context;
    std::unique_ptr<context> ctx_;
};

digest sha256_of(std::string_view bytes);

}  // namespace chunklog
