#include "api/server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace chunklog::api {
namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's
// "intermediate" list without DHE); TLS 1.3 keeps OpenSSL's defaults.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The most recent OpenSSL error's reason, clearing the queue.
std::string openssl_reason() {
    auto code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    std::string text = reason != nullptr ? reason : code != 0 ? "OpenSSL error " + std::to_string(code) : "unknown error";
    ERR_clear_error();
    return text;
}

// The whole file, or why it cannot be read.
bool read_file(const std::string& path, std::string& out, std::string& error) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read " + path + ": " + (errno != 0 ? std::strerror(errno) : "cannot open");
        return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        error = "cannot read " + path;
        return false;
    }
    out = text.str();
    return true;
}

// Refuses encrypted keys instead of prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return -1; }

struct openssl_deleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
    void operator()(X509* cert) const { X509_free(cert); }
    void operator()(BIO* bio) const { BIO_free(bio); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter>;

bio_ptr memory_bio(const std::string& text) {
    return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate of `pem` as the server's, the others as its chain
// (what SSL_CTX_use_certificate_chain_file does, from memory); empty on
// success, else why not.
std::string use_certificate_chain(SSL_CTX* ctx, const std::string& pem) {
    auto bio = memory_bio(pem);
    if (!bio) return "out of memory";
    x509_ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
    if (!leaf) {
        ERR_clear_error();
        return "no PEM certificate in it";
    }
    if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) return "certificate refused (" + openssl_reason() + ")";
    while (x509_ptr next{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
        if (SSL_CTX_add1_chain_cert(ctx, next.get()) != 1)
            return "chain certificate refused (" + openssl_reason() + ")";
    }
    // The loop ends at the end of the text ("no start line"), or at a
    // certificate that does not parse.
    auto last = ERR_peek_last_error();
    if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE))
        return "a chain certificate after the first is malformed (" + openssl_reason() + ")";
    ERR_clear_error();
    return {};
}

pkey_ptr parse_private_key(const std::string& pem) {
    auto bio = memory_bio(pem);
    if (!bio) return nullptr;
    return pkey_ptr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

// A server context for TLS 1.2 and 1.3 with the given chain and key, or
// null with `error` set.
std::shared_ptr<ssl::context> make_context(const std::string& cert_file, const std::string& key_file,
                                           std::string& error) {
    std::string cert_pem, key_pem;
    if (!read_file(cert_file, cert_pem, error) || !read_file(key_file, key_pem, error)) return nullptr;
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    auto* handle = ctx->native_handle();
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    SSL_CTX_set_options(handle, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (ec || SSL_CTX_set_min_proto_version(handle, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(handle, tls12_ciphers) != 1) {
        error = "cannot set up TLS: " + (ec ? ec.message() : openssl_reason());
        return nullptr;
    }
    if (auto why = use_certificate_chain(handle, cert_pem); !why.empty()) {
        error = cert_file + ": " + why;
        return nullptr;
    }
    auto key = parse_private_key(key_pem);
    if (!key) {
        ERR_clear_error();
        bool encrypted = key_pem.find("ENCRYPTED") != std::string::npos;
        error = key_file + (encrypted ? ": the private key is encrypted (not supported; protect the file instead)"
                                      : ": no PEM private key in it");
        return nullptr;
    }
    X509* leaf = SSL_CTX_get0_certificate(handle);
    if (leaf == nullptr || X509_check_private_key(leaf, key.get()) != 1 ||
        SSL_CTX_use_PrivateKey(handle, key.get()) != 1 || SSL_CTX_check_private_key(handle) != 1) {
        ERR_clear_error();
        error = "the private key in " + key_file + " does not match the certificate in " + cert_file;
        return nullptr;
    }
    return ctx;
}

}  // namespace

tls_context::tls_context(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

std::string tls_context::reload() {
    std::string error;
    auto fresh = make_context(cert_file_, key_file_, error);
    if (!fresh) return error;
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
    return {};
}

std::shared_ptr<ssl::context> tls_context::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

}  // namespace chunklog::api
