// http_transport: one keep-alive HTTP/1.1 connection to one server, used by
// chunklog::client. Each request has a deadline and each response body a
// size limit; a broken connection is reopened on the next request. A failed
// request says whether it could have reached the server, so that the caller
// knows what is safe to send again. Single owner; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

namespace chunklog::detail {

struct http_reply {
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

// Why a request got no reply.
enum class transport_error {
    unreachable,  // no connection could be made: nothing was sent
    broken,       // the connection broke or timed out: the server may have seen the request
    too_large,    // the response body is over the limit; the connection was closed
};

// Which connection a request goes on.
enum class connection_use {
    reuse,  // the open keep-alive connection, if any
    fresh,  // a new one, so that a connection the server closed while idle
            // cannot be taken for a request lost on the way
};

class http_transport {
public:
    http_transport(std::string host, std::string port, std::uint64_t max_body_bytes);
    ~http_transport();

    std::variant<http_reply, transport_error> request(const char* method, const std::string& target,
                                                      const std::string& body, std::chrono::milliseconds timeout,
                                                      connection_use use = connection_use::reuse);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::detail
