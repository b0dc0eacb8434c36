#include "bench/server_metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <charconv>
#include <stdexcept>

namespace chunklog::bench {

std::optional<double> metric_value(std::string_view text, std::string_view name) {
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(at, end - at);
        at = end + 1;
        if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ' ') continue;
        auto number = line.substr(name.size() + 1);
        double value = 0;
        auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
        if (ec == std::errc{}) return value;
    }
    return std::nullopt;
}

double required_metric(std::string_view text, std::string_view name) {
    auto v = metric_value(text, name);
    if (!v) throw std::runtime_error("the server's /metrics has no " + std::string(name));
    return *v;
}

metrics_reader::metrics_reader(const server_link& link, const std::string& admin_token)
    : conn_(ioc_, link, admin_token) {}

metrics_reader::~metrics_reader() = default;

std::string metrics_reader::read() {
    http_result answer;
    // Twice at most: the server may have closed the idle connection.
    for (int attempt = 0; attempt < 2 && answer.status == 0; ++attempt) {
        ioc_.restart();
        boost::asio::co_spawn(
            ioc_, [&]() -> boost::asio::awaitable<void> { answer = co_await conn_.call("GET", "/metrics", {}); },
            boost::asio::detached);
        ioc_.run();
    }
    if (answer.status != 200)
        throw std::runtime_error("GET /metrics answered " + std::to_string(answer.status) + " " + answer.body);
    return std::move(answer.body);
}

}  // namespace chunklog::bench
