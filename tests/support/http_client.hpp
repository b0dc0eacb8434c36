// A minimal blocking HTTP/1.1 client for end-to-end tests: one keep-alive
// connection per object, plus a raw-bytes exchange for malformed input.
// Not thread-safe: use one connection per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chunklog::test {

struct http_reply {
    unsigned status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lowercase
    bool keep_alive = true;

    std::string header(const std::string& lowercase_name) const {
        auto it = headers.find(lowercase_name);
        return it == headers.end() ? std::string{} : it->second;
    }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// The bearer token sent to a port on every request that names no
// Authorization header of its own (an empty Authorization value sends
// none). server_process registers its admin token here, so that a test
// written for the 0.1 protocol runs unchanged against a server that checks
// tokens. Thread-safe.
void set_port_token(std::uint16_t port, std::string token);
void clear_port_token(std::uint16_t port);
// "Authorization: Bearer T\r\n" for the port's default token ("" without
// one), for tests that write raw requests.
std::string authorization_line(std::uint16_t port);

class http_connection {
public:
    explicit http_connection(std::uint16_t port);
    ~http_connection();
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    // Sends one request and reads its answer; throws on a network failure.
    http_reply request(const std::string& method, const std::string& target, const std::string& body = {},
                       const header_list& headers = {});

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// One request on a fresh connection.
http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = {}, const header_list& headers = {});

// Writes raw bytes, then reads until the server closes or the timeout passes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// The HTTP status of the first response line in raw text (0 if none).
unsigned first_status(const std::string& raw);

}  // namespace chunklog::test
