// fake_server: a loopback HTTP/1.1 server for client and CLI tests that
// answers each request with whatever the test's handler returns: a canned
// response, raw bytes of any shape (malformed on purpose), or a dropped
// connection. It listens on 127.0.0.1 on a free port and serves one
// connection at a time on its own thread, where the handler runs; requests()
// and received() are safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chunklog::test {

struct fake_request {
    std::string method;  // "GET", "DELETE", ...
    std::string target;  // path and query
    std::string body;
};

struct fake_response {
    std::string raw;     // written as is; empty: nothing is written
    bool close = false;  // close the connection after writing

    // A well-framed HTTP/1.1 response (Content-Length, keep-alive).
    static fake_response http(unsigned status, const std::string& body,
                              const std::string& content_type = "application/json");
    // The same body sent with chunked transfer encoding, cut after
    // `cut_after` bytes of it: the connection is closed without the last chunk.
    static fake_response chunked_cut(const std::string& body, std::size_t cut_after);
    // Reads the request and closes the connection without answering.
    static fake_response drop() { return {{}, true}; }
};

class fake_server {
public:
    using handler = std::function<fake_response(const fake_request&)>;

    explicit fake_server(handler h);
    ~fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // http://127.0.0.1:PORT
    // Requests read so far, and a copy of them in order.
    std::size_t requests() const;
    std::vector<fake_request> received() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::test
