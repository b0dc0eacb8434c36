// chunklogd's GET /metrics (Prometheus text) as the bench reads it: the
// value of one unlabelled counter or gauge, and a blocking reader with the
// admin token for code that does not run on an io_context. metric_value is
// a pure function; a metrics_reader is single-owner, not thread-safe.
#pragma once

#include "bench/load_connection.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace chunklog::bench {

// The value on the line `NAME VALUE` of `text`; nullopt when there is none.
std::optional<double> metric_value(std::string_view text, std::string_view name);
// The same, throwing std::runtime_error naming the metric when it is absent.
double required_metric(std::string_view text, std::string_view name);

// Reads GET /metrics with the admin token over one kept-alive connection
// (its own io_context, run for each read). On one connection the server
// counts an answer's bytes before it reads the next request, so the bytes
// between two reads are exactly what happened in between plus the first
// read's own body.
class metrics_reader {
public:
    metrics_reader(const server_link& link, const std::string& admin_token);
    ~metrics_reader();
    // Throws std::runtime_error unless the answer is 200.
    std::string read();

private:
    boost::asio::io_context ioc_{1};
    load_connection conn_;
};

}  // namespace chunklog::bench
