// One keep-alive HTTP/1.1 client connection for the load generator, over
// plain TCP or TLS, driven by C++20 coroutines on the caller's io_context.
// Single owner; not thread-safe (one coroutine uses it at a time).
#pragma once

#include "bench/bench_options.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chunklog::bench {

// A request header beyond those call() sets (Host, Authorization, Content-Type).
using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_result {
    unsigned status = 0;  // 0: the connection failed
    std::string body;
    std::size_t bytes = 0;  // request plus response body bytes
    std::string failure;    // with status 0: "connection", or why TLS failed
    header_list x_headers;  // the response's X-* headers, as sent

    // The value of response header `name` (an X-* header), or "".
    std::string header(std::string_view name) const;
};

// How the connections of a run reach the server: its address and, for
// https, one OpenSSL client context (TLS 1.2 or later, the server's
// certificate verified against the system's store plus options.ca_file and
// required to name options.host). Construction resolves the host and
// throws std::runtime_error when that fails or the CA file cannot be
// loaded. Immutable afterwards; outlives its connections.
class server_link {
public:
    explicit server_link(const bench_options& options);
    ~server_link();
    server_link(const server_link&) = delete;
    server_link& operator=(const server_link&) = delete;

    const std::string& host() const { return host_; }
    std::uint16_t port() const { return port_; }
    bool tls() const { return tls_ != nullptr; }
    const std::string& ca_file() const { return ca_file_; }
    const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }
    std::string url() const;  // http://HOST:PORT or https://HOST:PORT

private:
    friend class load_connection;
    struct tls_context;
    std::string host_;
    std::uint16_t port_;
    std::string ca_file_;
    boost::asio::ip::tcp::endpoint endpoint_;
    std::unique_ptr<tls_context> tls_;
};

class load_connection {
public:
    // `token`, when not empty, goes out as `Authorization: Bearer TOKEN`.
    load_connection(boost::asio::io_context& ioc, const server_link& link, std::string token = {});
    ~load_connection();

    // Sends one request (reconnecting first if needed) and reads the answer.
    // A non-empty body is sent with the given Content-Type.
    // `headers` are added to the request (by value: a coroutine parameter).
    boost::asio::awaitable<http_result> call(const char* method, const std::string& target, const std::string& body,
                                             const char* content_type = "application/json", header_list headers = {});

    // Connects (TLS handshake included), sends `request` as raw bytes and
    // reads, without parsing HTTP and without a time limit, until `expected`
    // appears in what arrived. True when it did in an answer starting
    // "HTTP/1.1 200". For many waiters whose only question is when their
    // answer arrives (longpoll). Leaves the connection closed.
    boost::asio::awaitable<bool> raw_wait_for(const std::string& request, const std::string& expected);

    // The longest one call() may take, sending and reading (default 60 s):
    // longer for a request that works for minutes, such as POST /admin/gc.
    void set_timeout(std::chrono::seconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::bench
