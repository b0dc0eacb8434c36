// One keep-alive HTTP/1.1 client connection for the load generator, driven
// by C++20 coroutines on the caller's io_context. Single owner; not
// thread-safe (one coroutine uses it at a time).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace chunklog::bench {

struct http_result {
    unsigned status = 0;  // 0: the connection failed
    std::string body;
    std::size_t bytes = 0;  // request plus response body bytes
};

class load_connection {
public:
    load_connection(boost::asio::io_context& ioc, std::string host, std::uint16_t port);
    ~load_connection();

    // Sends one request (reconnecting first if needed) and reads the answer.
    // A non-empty body is sent with the given Content-Type.
    boost::asio::awaitable<http_result> call(const char* method, const std::string& target, const std::string& body,
                                             const char* content_type = "application/json");

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::bench
