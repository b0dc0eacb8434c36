#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <poll.h>

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>
#include <mutex>

namespace chunklog::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::mutex port_tokens_mutex;
std::map<std::uint16_t, std::string> port_tokens;

std::string port_token(std::uint16_t port) {
    std::lock_guard lock(port_tokens_mutex);
    auto it = port_tokens.find(port);
    return it == port_tokens.end() ? std::string{} : it->second;
}

bool names_authorization(const header_list& headers) {
    return std::any_of(headers.begin(), headers.end(), [](const auto& h) { return boost::iequals(h.first, "authorization"); });
}

}  // namespace

void set_port_token(std::uint16_t port, std::string token) {
    std::lock_guard lock(port_tokens_mutex);
    port_tokens[port] = std::move(token);
}

std::string authorization_line(std::uint16_t port) {
    auto token = port_token(port);
    return token.empty() ? std::string{} : "Authorization: Bearer " + token + "\r\n";
}

void clear_port_token(std::uint16_t port) {
    std::lock_guard lock(port_tokens_mutex);
    port_tokens.erase(port);
}

struct http_connection::impl {
    std::uint16_t port = 0;
    asio::io_context ioc;
    tcp::socket socket{ioc};
    beast::flat_buffer buffer;
};

http_connection::http_connection(std::uint16_t port) : impl_(std::make_unique<impl>()) {
    impl_->port = port;
    impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    impl_->socket.set_option(tcp::no_delay(true));
}

http_connection::~http_connection() = default;

http_reply http_connection::request(const std::string& method, const std::string& target, const std::string& body,
                                    const header_list& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers)
        if (!value.empty() || !boost::iequals(name, "authorization")) req.set(name, value);
    if (!names_authorization(headers))
        if (auto token = port_token(impl_->port); !token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.body() = body;
    if (!body.empty() || method == "PUT" || method == "POST") req.prepare_payload();
    http::write(impl_->socket, req);

    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    if (method == "HEAD") parser.skip(true);
    http::read(impl_->socket, impl_->buffer, parser);
    auto& res = parser.get();
    http_reply reply;
    reply.status = res.result_int();
    reply.body = res.body();
    reply.keep_alive = res.keep_alive();
    for (const auto& field : res) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        reply.headers[name] = std::string(field.value());
    }
    return reply;
}

http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body, const header_list& headers) {
    http_connection c(port);
    return c.request(method, target, body, headers);
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{socket.native_handle(), POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) break;
        char chunk[4096];
        auto n = socket.read_some(asio::buffer(chunk), ec);
        if (ec || n == 0) break;
        out.append(chunk, n);
    }
    return out;
}

unsigned first_status(const std::string& raw) {
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
    return static_cast<unsigned>(std::stoi(raw.substr(9, 3)));
}

}  // namespace chunklog::test
