// The server's TLS settings: a certificate chain and its private key read
// from PEM files into an OpenSSL context that accepts TLS 1.2 and 1.3 only.
// reload() reads both files again and, only when they are usable, swaps in
// a new context; a session holds the context it started with (a shared_ptr
// copy of current()) for its whole life, so a reload never touches an open
// connection. current() and reload() are thread-safe.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace chunklog::api {

class tls_context {
public:
    tls_context(std::string cert_file, std::string key_file);
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    // Reads both files into a new context and makes it current. Returns an
    // empty string on success, else why the files are unusable (naming the
    // file); the current context, if any, then stays.
    std::string reload();

    // The context new connections use; null before the first good reload().
    std::shared_ptr<boost::asio::ssl::context> current() const;

private:
    std::string cert_file_;
    std::string key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace chunklog::api
