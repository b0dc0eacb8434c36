#include "bench/load_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace chunklog::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct load_connection::impl {
    impl(asio::io_context& ioc, std::string h, std::uint16_t p) : stream(ioc), host(std::move(h)), port(p) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::string host;
    std::uint16_t port;
    bool connected = false;
};

load_connection::load_connection(asio::io_context& ioc, std::string host, std::uint16_t port)
    : impl_(std::make_unique<impl>(ioc, std::move(host), port)) {}

load_connection::~load_connection() = default;

asio::awaitable<http_result> load_connection::call(const char* method, const std::string& target,
                                                   const std::string& body, const char* content_type) {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    auto& s = *impl_;
    if (!s.connected) {
        s.stream.expires_after(std::chrono::seconds(10));
        tcp::endpoint endpoint{asio::ip::make_address(s.host), s.port};
        auto [ec] = co_await s.stream.async_connect(endpoint, tuple);
        if (ec) co_return http_result{};
        s.stream.socket().set_option(tcp::no_delay(true));
        s.buffer.clear();
        s.connected = true;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, s.host);
    if (!body.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    s.stream.expires_after(std::chrono::seconds(60));
    auto [write_ec, written] = co_await http::async_write(s.stream, req, tuple);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    beast::error_code read_ec;
    if (!write_ec) {
        auto [ec, read] = co_await http::async_read(s.stream, s.buffer, parser, tuple);
        read_ec = ec;
    }
    if (write_ec || read_ec) {
        s.connected = false;
        beast::error_code ignored;
        s.stream.socket().close(ignored);
        co_return http_result{};
    }
    auto& res = parser.get();
    if (!res.keep_alive()) s.connected = false;
    http_result out{res.result_int(), std::move(res.body()), 0};
    out.bytes = body.size() + out.body.size();
    co_return out;
}

}  // namespace chunklog::bench
