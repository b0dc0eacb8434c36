#include "bench/longpoll.hpp"

#include "bench/load_connection.hpp"

#include <chunklog/ids.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

namespace chunklog::bench {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

namespace {

// One waiter on a raw socket: a waiter only needs to see its answer arrive,
// so it reads bytes until the new HEAD appears instead of parsing HTTP (with
// thousands of answers arriving at once, a full parser per answer would make
// the load generator, not the server, the bottleneck).
class raw_waiter {
public:
    raw_waiter(asio::io_context& ioc, const bench_options& o) : socket_(ioc), options_(o) {}

    asio::awaitable<bool> connect() {
        tcp::endpoint endpoint{asio::ip::make_address(options_.host), options_.port};
        auto [ec] = co_await socket_.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
        co_return !ec;
    }

    // Sends the long poll; completes when the answer holding `expected` arrived.
    asio::awaitable<bool> wait_for(const std::string& request, const std::string& expected) {
        auto [write_ec, written] = co_await asio::async_write(socket_, asio::buffer(request), asio::as_tuple(asio::use_awaitable));
        if (write_ec) co_return false;
        std::string received;
        char buffer[1024];
        for (;;) {
            auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
            if (ec) co_return false;
            received.append(buffer, n);
            if (received.find(expected) != std::string::npos) co_return received.rfind("HTTP/1.1 200", 0) == 0;
        }
    }

private:
    tcp::socket socket_;
    const bench_options& options_;
};

}  // namespace

longpoll_result run_longpoll(const bench_options& options, const std::function<long()>& server_rss) {
    asio::io_context ioc(1);
    auto base = "/0.1/" + uuid::random().to_string();
    load_connection control(ioc, options.host, options.port);
    std::vector<std::unique_ptr<raw_waiter>> waiters;
    for (unsigned i = 0; i < options.connections; ++i) waiters.push_back(std::make_unique<raw_waiter>(ioc, options));

    longpoll_result result;
    result.waiters = options.connections;
    auto target = uuid::random().to_string();
    auto request = "GET " + base + "/head?wait=60&known=" + root_id.to_string() + " HTTP/1.1\r\nHost: " +
                   options.host + "\r\n\r\n";
    clock_type::time_point advanced_at{};

    auto wait_one = [&](raw_waiter& w) -> asio::awaitable<void> {
        bool connected = co_await w.connect();
        if (!connected) co_return;
        bool woken = co_await w.wait_for(request, target);
        if (!woken) co_return;
        ++result.woken;
        result.wake_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - advanced_at).count());
    };
    auto drive = [&]() -> asio::awaitable<void> {
        auto tx = boost::json::serialize(boost::json::object{{"parent", root_id.to_string()}, {"chunks", boost::json::array{}}});
        co_await control.call("PUT", base + "/transactions/" + target, tx);
        result.rss_idle_kib = server_rss();
        for (auto& w : waiters) asio::co_spawn(ioc, wait_one(*w), asio::detached);
        asio::steady_timer settle(ioc, std::chrono::milliseconds(500 + options.connections));
        co_await settle.async_wait(asio::use_awaitable);
        result.rss_waiting_kib = server_rss();
        advanced_at = clock_type::now();
        auto advance = boost::json::serialize(boost::json::object{{"head", target}});
        co_await control.call("PUT", base + "/head", advance);
    };
    asio::co_spawn(ioc, drive(), asio::detached);
    ioc.run();
    std::sort(result.wake_ms.begin(), result.wake_ms.end());
    return result;
}

}  // namespace chunklog::bench
