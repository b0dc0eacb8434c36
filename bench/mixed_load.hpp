// A load of several kinds of requests at once, for measuring their latency
// while something else happens on the server (the gc workload's pass).
// Each part is a workload on its own connections; every connection is
// paced to an equal share of a total rate, or unpaced (rate 0: the next
// request as soon as the last is answered). Every operation is recorded with
// the time it was due and the time its answer arrived, and windows of the
// run are summarized afterwards. Paced, an operation is due at its
// scheduled time, so a stall counts against every request it delays (no
// coordinated omission); unpaced, when it is sent.
// Single-threaded: everything runs on the caller's io_context thread; build
// it on main's thread (it makes the connections' tokens there).
#pragma once

#include "bench/load_connection.hpp"
#include "bench/tokens.hpp"
#include "bench/workloads.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chunklog::bench {

struct load_part {
    std::string name;
    workload* load = nullptr;  // outlives the mixed_load
    unsigned connections = 0;
};

struct window_summary {
    double seconds = 0;
    std::uint64_t ops = 0;        // answered successfully within the window
    std::uint64_t conflicts = 0;  // 409s absorbed by retrying
    std::map<std::string, std::uint64_t> errors;
    std::vector<std::uint32_t> latencies_us;  // sorted

    double percentile_ms(double p) const;
    double ops_per_second() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

class mixed_load {
public:
    using clock_type = std::chrono::steady_clock;

    // total_rate: operations per second over every connection (0: unpaced).
    mixed_load(boost::asio::io_context& ioc, token_book& tokens, std::vector<load_part> parts, double total_rate);
    ~mixed_load();

    // Prepares every connection (workload::prepare), then starts them all
    // and returns.
    boost::asio::awaitable<void> start();
    // Each connection stops after the operation it has in flight.
    void stop() { stopping_ = true; }

    // The operations of part `name` due at or after `from` and answered by `to`.
    window_summary summarize(const std::string& name, clock_type::time_point from, clock_type::time_point to) const;

private:
    struct connection_slot {
        std::size_t part;
        unsigned index;  // within its part's workload
        std::unique_ptr<load_connection> conn;
    };
    struct op_record {
        clock_type::time_point due, done;
        std::uint32_t part;
        std::uint16_t error;  // 0: ok, else 1 + index into errors_
        std::uint16_t conflicts;
    };

    boost::asio::awaitable<void> drive(connection_slot& slot, std::size_t position);
    std::uint16_t error_id(const std::string& kind);

    boost::asio::io_context& ioc_;
    std::vector<load_part> parts_;
    std::vector<connection_slot> slots_;
    clock_type::duration interval_{};  // between a connection's operations; zero: unpaced
    clock_type::time_point started_{};
    bool stopping_ = false;
    std::vector<op_record> records_;
    std::vector<std::string> errors_;
};

}  // namespace chunklog::bench
