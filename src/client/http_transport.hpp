// http_transport: one keep-alive HTTP/1.1 connection to one server, used by
// chunklog::client. Each request has a deadline; a broken connection is
// reopened on the next request. Single owner; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace chunklog::detail {

struct http_reply {
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

class http_transport {
public:
    http_transport(std::string host, std::string port);
    ~http_transport();

    // nullopt when the server could not be reached or the exchange broke.
    std::optional<http_reply> request(const char* method, const std::string& target, const std::string& body,
                                      std::chrono::milliseconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::detail
