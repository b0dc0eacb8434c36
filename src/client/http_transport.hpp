// http_transport: one keep-alive HTTP/1.1 connection to one server, plain or
// over TLS, used by chunklog::client. Each request has a deadline and each
// response body a size limit; a broken connection is reopened on the next
// request. A failed request says whether it could have reached the server,
// so that the caller knows what is safe to send again. Single owner; not
// thread-safe.
//
// TLS (https): TLS 1.2 or later, the peer's certificate verified against the
// system's CA store plus an optional CA file, and against the host (a DNS
// name, also sent as SNI, or an IP address). Beast, Asio and OpenSSL's
// headers stay inside http_transport.cpp.
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
    std::string retry_after;       // the Retry-After header, empty when absent
    std::string snapshot_urgency;  // the Snapshot-Urgency header, empty when absent
};

// Why a request got no reply.
enum class transport_error {
    unreachable,  // no connection could be made: nothing was sent
    broken,       // the connection broke or timed out: the server may have seen the request
    too_large,    // the response body is over the limit; the connection was closed
    tls,          // the TLS handshake failed (an untrusted certificate...): nothing was sent
};

struct transport_failure {
    transport_error kind;
    std::string detail;  // what went wrong, for kind == tls
};

// Which connection a request goes on.
enum class connection_use {
    reuse,  // the open keep-alive connection, if any
    fresh,  // a new one, so that a connection the server closed while idle
            // cannot be taken for a request lost on the way
};

struct transport_options {
    std::string host;  // a DNS name or an IP address (without brackets)
    std::string port;
    bool tls = false;
    std::string ca_file;  // extra trusted CAs (PEM) for tls; empty: the system's only
    std::string authorization;  // the Authorization header's value; empty: none
    std::uint64_t max_body_bytes = 0;
};

class http_transport {
public:
    // Throws std::invalid_argument when the TLS setup fails (ca_file unreadable).
    explicit http_transport(transport_options options);
    ~http_transport();

    std::variant<http_reply, transport_failure> request(const char* method, const std::string& target,
                                                        const std::string& body, std::chrono::milliseconds timeout,
                                                        connection_use use = connection_use::reuse);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::detail
