#include "client/http_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include <stdexcept>

namespace chunklog::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// A client context: TLS 1.2 or later, the peer verified against the system's
// store and `ca_file`.
std::unique_ptr<ssl::context> make_tls_context(const std::string& ca_file) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1)
        throw std::invalid_argument("cannot require TLS 1.2");
    ctx->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    ctx->set_default_verify_paths(ec);  // a machine without a store may still trust ca_file
    if (!ca_file.empty()) {
        ctx->load_verify_file(ca_file, ec);
        if (ec) throw std::invalid_argument("cannot load CA certificates from '" + ca_file + "': " + ec.message());
    }
    return ctx;
}

// Tells OpenSSL which name the certificate must carry (RFC 2818 / 6125: an
// IP address must be in an IP SAN; a DNS name in a DNS SAN, wildcards only as
// a whole left-most label) and sends a DNS name as SNI.
bool expect_peer(SSL* ssl, const std::string& host) {
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    auto* param = SSL_get0_param(ssl);
    if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

// A failed handshake: a TLS failure when TLS itself refused (a certificate
// that does not verify, no common protocol version, a peer that does not
// speak TLS), else the connection failed like any other.
transport_failure handshake_failure(SSL* ssl, const beast::error_code& ec, const std::string& where) {
    const bool tls = ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated;
    if (!tls) return {transport_error::unreachable, ec.message()};
    if (long verify = SSL_get_verify_result(ssl); verify != X509_V_OK)
        return {transport_error::tls,
                "the certificate of " + where + " does not verify: " + X509_verify_cert_error_string(verify)};
    if (ec == ssl::error::stream_truncated)
        return {transport_error::tls, where + " closed the connection during the TLS handshake"};
    return {transport_error::tls, "TLS handshake with " + where + " failed: " + ec.message()};
}

}  // namespace

struct http_transport::impl {
    explicit impl(transport_options o) : options(std::move(o)) {
        if (options.tls) tls = make_tls_context(options.ca_file);
        host_header = options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
    }

    transport_options options;
    std::string host_header;
    asio::io_context ioc;
    std::unique_ptr<ssl::context> tls;  // set for https
    std::variant<std::monostate, plain_stream, tls_stream> stream;  // monostate: not connected
    beast::flat_buffer buffer;

    bool connected() const { return !std::holds_alternative<std::monostate>(stream); }

    beast::tcp_stream& lowest() {
        if (auto* plain = std::get_if<plain_stream>(&stream)) return *plain;
        return std::get<tls_stream>(stream).next_layer();
    }

    // Runs the io_context until the started operation completes.
    void run() {
        ioc.restart();
        ioc.run();
    }

    std::optional<transport_failure> connect(std::chrono::milliseconds timeout) {
        beast::error_code ec;
        tcp::resolver resolver(ioc);
        auto endpoints = resolver.resolve(options.host, options.port, ec);
        if (ec) return transport_failure{transport_error::unreachable, ec.message()};
        auto& tcp_layer = tls ? stream.emplace<tls_stream>(ioc, *tls).next_layer() : stream.emplace<plain_stream>(ioc);
        tcp_layer.expires_after(timeout);  // connect and handshake together
        tcp_layer.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
        run();
        if (ec) {
            disconnect();
            return transport_failure{transport_error::unreachable, ec.message()};
        }
        tcp_layer.socket().set_option(tcp::no_delay(true), ec);
        if (auto* s = std::get_if<tls_stream>(&stream)) {
            const auto where = host_header + ":" + options.port;
            if (!expect_peer(s->native_handle(), options.host)) {
                disconnect();
                return transport_failure{transport_error::tls, "cannot check a certificate against '" + where + "'"};
            }
            s->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
            run();
            if (ec) {
                auto failure = handshake_failure(s->native_handle(), ec, where);
                disconnect();
                return failure;
            }
        }
        buffer.clear();
        return std::nullopt;
    }

    // Closes without TLS close_notify: HTTP framing already tells where a
    // response ends, and waiting for the server's close_notify would only
    // add a round trip.
    void disconnect() {
        if (!connected()) return;
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().socket().close(ignored);
        stream.emplace<std::monostate>();
    }

    template <typename Stream>
    beast::error_code exchange(Stream& s, const http::request<http::string_body>& req,
                               http::response_parser<http::string_body>& parser, std::chrono::milliseconds timeout) {
        beast::error_code ec;
        beast::get_lowest_layer(s).expires_after(timeout);
        http::async_write(s, req, [&](beast::error_code e, std::size_t) { ec = e; });
        run();
        if (!ec) {
            http::async_read(s, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
            run();
        }
        return ec;
    }
};

http_transport::http_transport(transport_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

http_transport::~http_transport() { impl_->disconnect(); }

std::variant<http_reply, transport_failure> http_transport::request(const char* method, const std::string& target,
                                                                    const std::string& body,
                                                                    std::chrono::milliseconds timeout,
                                                                    connection_use use) {
    auto& s = *impl_;
    if (s.connected() && use == connection_use::fresh) s.disconnect();
    if (!s.connected())
        if (auto failure = s.connect(timeout)) return std::move(*failure);

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, s.host_header);
    req.set(http::field::user_agent, "chunklog-client");
    if (!s.options.authorization.empty()) req.set(http::field::authorization, s.options.authorization);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();

    http::response_parser<http::string_body> parser;
    parser.body_limit(s.options.max_body_bytes);
    auto ec = std::holds_alternative<plain_stream>(s.stream)
                  ? s.exchange(std::get<plain_stream>(s.stream), req, parser, timeout)
                  : s.exchange(std::get<tls_stream>(s.stream), req, parser, timeout);
    if (ec) {
        s.disconnect();
        if (ec == http::error::body_limit) return transport_failure{transport_error::too_large, {}};
        return transport_failure{transport_error::broken, ec.message()};
    }
    auto& res = parser.get();
    if (!res.keep_alive()) s.disconnect();
    return http_reply{res.result_int(), std::move(res.body()), std::string(res[http::field::content_type]),
                      std::string(res[http::field::retry_after]), std::string(res["Snapshot-Urgency"])};
}

}  // namespace chunklog::detail
