#include "client/http_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace chunklog::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_transport::impl {
    impl(std::string h, std::string p, std::uint64_t limit)
        : host(std::move(h)), port(std::move(p)), max_body_bytes(limit) {}

    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
    std::string host;
    std::string port;
    std::uint64_t max_body_bytes;
    bool connected = false;

    // Runs the io_context until the started operation completes.
    void run() {
        ioc.restart();
        ioc.run();
    }

    bool connect(std::chrono::milliseconds timeout) {
        beast::error_code ec;
        tcp::resolver resolver(ioc);
        auto endpoints = resolver.resolve(host, port, ec);
        if (ec) return false;
        stream.expires_after(timeout);
        stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
        run();
        if (ec) return false;
        stream.socket().set_option(tcp::no_delay(true), ec);
        buffer.clear();
        connected = true;
        return true;
    }

    void disconnect() {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
        connected = false;
    }
};

http_transport::http_transport(std::string host, std::string port, std::uint64_t max_body_bytes)
    : impl_(std::make_unique<impl>(std::move(host), std::move(port), max_body_bytes)) {}

http_transport::~http_transport() { impl_->disconnect(); }

std::variant<http_reply, transport_error> http_transport::request(const char* method, const std::string& target,
                                                                  const std::string& body,
                                                                  std::chrono::milliseconds timeout,
                                                                  connection_use use) {
    auto& s = *impl_;
    if (s.connected && use == connection_use::fresh) s.disconnect();
    if (!s.connected && !s.connect(timeout)) return transport_error::unreachable;

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, s.host);
    req.set(http::field::user_agent, "chunklog-client");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();

    beast::error_code ec;
    s.stream.expires_after(timeout);
    http::async_write(s.stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    s.run();
    http::response_parser<http::string_body> parser;
    parser.body_limit(s.max_body_bytes);
    if (!ec) {
        http::async_read(s.stream, s.buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
        s.run();
    }
    if (ec) {
        s.disconnect();
        return ec == http::error::body_limit ? transport_error::too_large : transport_error::broken;
    }
    auto& res = parser.get();
    if (!res.keep_alive()) s.disconnect();
    return http_reply{res.result_int(), std::move(res.body()), std::string(res[http::field::content_type])};
}

}  // namespace chunklog::detail
