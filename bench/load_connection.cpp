#include "bench/load_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <optional>
#include <stdexcept>

namespace chunklog::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct server_link::tls_context {
    ssl::context ctx{ssl::context::tls_client};
};

server_link::server_link(const bench_options& options)
    : host_(options.host), port_(options.port), ca_file_(options.ca_file) {
    asio::io_context ioc;
    beast::error_code ec;
    auto found = tcp::resolver(ioc).resolve(host_, std::to_string(port_), ec);
    if (ec || found.empty()) throw std::runtime_error("cannot resolve " + host_ + ": " + ec.message());
    endpoint_ = found.begin()->endpoint();
    if (!options.tls) return;
    tls_ = std::make_unique<tls_context>();
    auto& ctx = tls_->ctx;
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw std::runtime_error("cannot require TLS 1.2");
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.set_default_verify_paths(ec);  // a machine without a store may still trust ca_file
    if (!ca_file_.empty()) {
        ctx.load_verify_file(ca_file_, ec);
        if (ec) throw std::runtime_error("cannot load CA certificates from '" + ca_file_ + "': " + ec.message());
    }
}

server_link::~server_link() = default;

std::string server_link::url() const {
    return (tls() ? "https://" : "http://") + host_ + ":" + std::to_string(port_);
}

struct load_connection::impl {
    impl(asio::io_context& ioc, const server_link& l, std::string t) : plain(ioc), link(l), token(std::move(t)) {}
    beast::tcp_stream plain;       // http
    std::optional<tls_stream> tls;  // https: a fresh one per connection
    beast::flat_buffer buffer;
    const server_link& link;
    std::string token;
    std::string failure;  // why the last connect failed
    bool connected = false;
    std::chrono::seconds timeout{60};  // per call()

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : plain; }

    void close() {
        connected = false;
        beast::error_code ignored;
        lowest().socket().close(ignored);
    }

    // TCP connect, then for https the handshake with the certificate checked
    // against the link's CA store and host (IP SAN for an address, DNS SAN
    // and SNI for a name). On failure, `failure` says which step failed.
    asio::awaitable<bool> connect() {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        close();  // after an answer without keep-alive the old socket is still open
        if (link.tls()) tls.emplace(plain.get_executor(), link.tls_->ctx);
        auto& stream = lowest();
        stream.expires_after(std::chrono::seconds(10));
        auto [ec] = co_await stream.async_connect(link.endpoint(), tuple);
        if (ec) {
            failure = "connection";
            close();
            co_return false;
        }
        stream.socket().set_option(tcp::no_delay(true));
        if (tls) {
            SSL* handle = tls->native_handle();
            beast::error_code not_address;
            asio::ip::make_address(link.host(), not_address);
            bool named = not_address ? SSL_set1_host(handle, link.host().c_str()) == 1 &&
                                           SSL_set_tlsext_host_name(handle, link.host().c_str()) == 1
                                     : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), link.host().c_str()) == 1;
            if (!named) {
                failure = "TLS: cannot set the expected host";
                close();
                co_return false;
            }
            auto [handshake_ec] = co_await tls->async_handshake(ssl::stream_base::client, tuple);
            if (handshake_ec) {
                long verify = SSL_get_verify_result(handle);
                failure = "TLS handshake: " + (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify))
                                                                   : handshake_ec.message());
                close();
                co_return false;
            }
        }
        buffer.clear();
        connected = true;
        co_return true;
    }

    template <typename Stream>
    asio::awaitable<http_result> exchange(Stream& stream, const http::request<http::string_body>& req) {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        lowest().expires_after(timeout);
        auto [write_ec, written] = co_await http::async_write(stream, req, tuple);
        http::response_parser<http::string_body> parser;
        parser.body_limit(boost::none);
        beast::error_code read_ec;
        if (!write_ec) {
            auto [ec, read] = co_await http::async_read(stream, buffer, parser, tuple);
            read_ec = ec;
        }
        if (write_ec || read_ec) {
            close();
            co_return http_result{};
        }
        auto& res = parser.get();
        if (!res.keep_alive()) connected = false;
        http_result out{res.result_int(), std::move(res.body()), 0, {}, {}};
        for (const auto& field : res) {
            auto name = field.name_string();
            if (name.size() > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-')
                out.x_headers.emplace_back(std::string(name), std::string(field.value()));
        }
        co_return out;
    }

    template <typename Stream>
    asio::awaitable<bool> wait_for(Stream& stream, const std::string& request, const std::string& expected) {
        constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
        lowest().expires_never();
        auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(request), tuple);
        if (write_ec) co_return false;
        std::string received;
        char chunk[1024];
        for (;;) {
            auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), tuple);
            if (ec) co_return false;
            received.append(chunk, n);
            if (received.find(expected) != std::string::npos) co_return received.rfind("HTTP/1.1 200", 0) == 0;
        }
    }
};

load_connection::load_connection(asio::io_context& ioc, const server_link& link, std::string token)
    : impl_(std::make_unique<impl>(ioc, link, std::move(token))) {}

load_connection::~load_connection() = default;

std::string http_result::header(std::string_view name) const {
    for (const auto& [n, v] : x_headers)
        if (boost::beast::iequals(n, name)) return v;
    return {};
}

asio::awaitable<http_result> load_connection::call(const char* method, const std::string& target,
                                                   const std::string& body, const char* content_type,
                                                   header_list headers) {
    // No co_await inside ?: or && here: g++ 12 destroys temporaries of such
    // expressions twice.
    auto& s = *impl_;
    if (!s.connected) {
        bool connected = co_await s.connect();
        if (!connected) {
            http_result failed;
            failed.failure = s.failure;
            co_return failed;
        }
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, s.link.host());
    if (!s.token.empty()) req.set(http::field::authorization, "Bearer " + s.token);
    if (!body.empty()) req.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();
    http_result out;
    if (s.tls) out = co_await s.exchange(*s.tls, req);
    else out = co_await s.exchange(s.plain, req);
    out.bytes = body.size() + out.body.size();
    co_return out;
}

void load_connection::set_timeout(std::chrono::seconds timeout) { impl_->timeout = timeout; }

asio::awaitable<bool> load_connection::raw_wait_for(const std::string& request, const std::string& expected) {
    auto& s = *impl_;
    if (!s.connected) {
        bool connected = co_await s.connect();
        if (!connected) co_return false;
    }
    s.connected = false;  // its answers are not parsed: no call() may follow on it
    bool found = false;
    if (s.tls) found = co_await s.wait_for(*s.tls, request, expected);
    else found = co_await s.wait_for(s.plain, request, expected);
    co_return found;
}

}  // namespace chunklog::bench
