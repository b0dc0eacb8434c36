#include "bench/longpoll.hpp"

#include "bench/load_connection.hpp"

#include <chunklog/ids.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

namespace chunklog::bench {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

longpoll_result run_longpoll(const bench_options& options, token_book& tokens, const std::function<long()>& server_rss) {
    asio::io_context ioc(1);
    auto user = uuid::random();
    auto base = "/0.1/" + user.to_string();
    const auto& token = tokens.for_user(user);
    load_connection control(ioc, tokens.link(), token);
    // The waiters send raw requests and only look for their answer to
    // arrive: with thousands of answers arriving at once, a full HTTP parser
    // per answer would make the load generator, not the server, the
    // bottleneck.
    std::vector<std::unique_ptr<load_connection>> waiters;
    for (unsigned i = 0; i < options.connections; ++i)
        waiters.push_back(std::make_unique<load_connection>(ioc, tokens.link()));

    longpoll_result result;
    result.waiters = options.connections;
    auto target = uuid::random().to_string();
    auto request = "GET " + base + "/head?wait=60&known=" + root_id.to_string() + " HTTP/1.1\r\nHost: " +
                   options.host + "\r\n" + (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") + "\r\n";
    clock_type::time_point advanced_at{};

    auto wait_one = [&](load_connection& w) -> asio::awaitable<void> {
        bool woken = co_await w.raw_wait_for(request, target);
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
