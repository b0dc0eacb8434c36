#include "support/fake_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <mutex>
#include <sstream>
#include <thread>

namespace chunklog::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

fake_response fake_response::http(unsigned status, const std::string& body, const std::string& content_type) {
    std::ostringstream out;
    out << "HTTP/1.1 " << status << " Fake\r\nContent-Type: " << content_type << "\r\nContent-Length: " << body.size()
        << "\r\n\r\n"
        << body;
    return {out.str(), false};
}

fake_response fake_response::chunked_cut(const std::string& body, std::size_t cut_after) {
    auto part = body.substr(0, cut_after);
    std::ostringstream out;
    out << "HTTP/1.1 200 Fake\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
        << std::hex << part.size() << "\r\n"
        << part << "\r\n";
    return {out.str(), true};
}

struct fake_server::impl {
    explicit impl(handler h) : on_request(std::move(h)) {}

    asio::io_context ioc;
    tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
    std::uint16_t port = acceptor.local_endpoint().port();  // read before the thread starts
    handler on_request;
    mutable std::mutex mutex;
    std::vector<fake_request> log;
    std::thread thread;

    asio::awaitable<void> accept_loop() {
        for (;;) {
            boost::system::error_code ec;
            auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            co_await serve(std::move(socket));
        }
    }

    // Answers the requests of one connection until it closes or a response says to.
    asio::awaitable<void> serve(tcp::socket socket) {
        beast::flat_buffer buffer;
        for (;;) {
            boost::system::error_code ec;
            http::request<http::string_body> req;
            co_await http::async_read(socket, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            fake_request r{std::string(req.method_string()), std::string(req.target()), std::move(req.body())};
            {
                std::lock_guard lock(mutex);
                log.push_back(r);
            }
            auto answer = on_request(r);
            if (!answer.raw.empty())
                co_await asio::async_write(socket, asio::buffer(answer.raw),
                                           asio::redirect_error(asio::use_awaitable, ec));
            if (ec || answer.close) {
                socket.shutdown(tcp::socket::shutdown_both, ec);
                co_return;
            }
        }
    }
};

fake_server::fake_server(handler h) : impl_(std::make_unique<impl>(std::move(h))) {
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

fake_server::~fake_server() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t fake_server::port() const { return impl_->port; }
std::string fake_server::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::size_t fake_server::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log.size();
}

std::vector<fake_request> fake_server::received() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->log;
}

}  // namespace chunklog::test
