#include "bench/delay_relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

namespace chunklog::bench {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::atomic<std::uint64_t> carried{0};

// One direction of the link: when the bytes it is given leave, and arrive.
struct link_direction {
    std::chrono::nanoseconds one_way;
    double bytes_per_ns;  // 0: no limit
    clock_type::time_point free_at{};

    clock_type::time_point arrival_of(std::size_t bytes) {
        auto now = clock_type::now();
        auto start = std::max(now, free_at);
        auto sending = bytes_per_ns > 0 ? std::chrono::nanoseconds(static_cast<std::int64_t>(bytes / bytes_per_ns))
                                        : std::chrono::nanoseconds(0);
        free_at = start + sending;
        return free_at + one_way;
    }
};

struct segment {
    clock_type::time_point due;
    std::string bytes;  // empty: the sender closed its side
};

// Bytes from one socket to the other, each segment held until it is due.
class pump : public std::enable_shared_from_this<pump> {
public:
    pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to, link_direction& link)
        : from_(std::move(from)), to_(std::move(to)), link_(link), queued_(from_->get_executor()) {}

    void start() {
        auto self = shared_from_this();
        asio::co_spawn(from_->get_executor(), [self] { return self->read(); }, asio::detached);
        asio::co_spawn(from_->get_executor(), [self] { return self->write(); }, asio::detached);
    }

private:
    asio::awaitable<void> read() {
        auto self = shared_from_this();
        for (;;) {
            std::string buffer(16 * 1024, '\0');
            auto [ec, n] = co_await from_->async_read_some(asio::buffer(buffer), use_tuple);
            buffer.resize(ec ? 0 : n);
            queue_.push_back({link_.arrival_of(buffer.size()), std::move(buffer)});
            queued_.cancel();
            if (ec) co_return;
        }
    }

    asio::awaitable<void> write() {
        auto self = shared_from_this();
        for (;;) {
            while (queue_.empty()) {
                queued_.expires_at(clock_type::time_point::max());
                co_await queued_.async_wait(use_tuple);
            }
            auto s = std::move(queue_.front());
            queue_.pop_front();
            asio::steady_timer due(from_->get_executor(), s.due);
            co_await due.async_wait(use_tuple);
            boost::system::error_code ignored;
            if (s.bytes.empty()) {  // pass the close on; the other side may still answer
                to_->shutdown(tcp::socket::shutdown_send, ignored);
                co_return;
            }
            auto [ec, n] = co_await asio::async_write(*to_, asio::buffer(s.bytes), use_tuple);
            carried += n;
            if (ec) {
                from_->close(ignored);
                to_->close(ignored);
                co_return;
            }
        }
    }

    std::shared_ptr<tcp::socket> from_, to_;
    link_direction& link_;
    asio::steady_timer queued_;
    std::deque<segment> queue_;
};

}  // namespace

struct delay_relay::impl {
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    tcp::resolver::results_type upstream;
    link_direction to_server, to_client;
    std::uint16_t port = acceptor.local_endpoint().port();  // read before the thread runs
    std::thread thread;

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto client = std::make_shared<tcp::socket>(ioc);
            auto [ec] = co_await acceptor.async_accept(*client, use_tuple);
            if (ec) co_return;
            asio::co_spawn(ioc, relay(client), asio::detached);
        }
    }

    asio::awaitable<void> relay(std::shared_ptr<tcp::socket> client) {
        auto server = std::make_shared<tcp::socket>(ioc);
        auto [ec, endpoint] = co_await asio::async_connect(*server, upstream, use_tuple);
        if (ec) co_return;  // the client sees its connection close
        client->set_option(tcp::no_delay(true));
        server->set_option(tcp::no_delay(true));
        std::make_shared<pump>(client, server, to_server)->start();
        std::make_shared<pump>(server, client, to_client)->start();
    }
};

delay_relay::delay_relay(const std::string& host, std::uint16_t port, std::chrono::microseconds round_trip,
                         double bits_per_second)
    : impl_(std::make_unique<impl>()) {
    impl_->upstream = tcp::resolver(impl_->ioc).resolve(host, std::to_string(port));
    auto one_way = std::chrono::duration_cast<std::chrono::nanoseconds>(round_trip) / 2;
    double bytes_per_ns = bits_per_second / 8 / 1e9;
    impl_->to_server = {one_way, bytes_per_ns};
    impl_->to_client = {one_way, bytes_per_ns};
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

delay_relay::~delay_relay() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint64_t delay_relay::bytes_carried() { return carried.load(); }

std::uint16_t delay_relay::port() const { return impl_->port; }

}  // namespace chunklog::bench
