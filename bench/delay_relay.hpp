// delay_relay: a TCP relay on loopback that makes a wide-area link out of
// it for chunklog-bench (--rtt-ms, --bandwidth-mbit). Each direction of each
// connection passes its bytes on in order, each segment once the link
// (paced at the bandwidth, shared by the connections in that direction)
// has sent it and the one-way delay (half the round trip) has passed, the
// way a netem qdisc with delay and rate would delay them. It relays at the
// TCP level, so HTTPS passes through unchanged. Unlike a real link, TCP's
// own windows see loopback: a transfer pays the round trips of its
// requests, not those of slow start. One thread of its own; thread-safe
// to construct and destroy; stops and joins on destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace chunklog::bench {

class delay_relay {
public:
    // Relays 127.0.0.1:port() to host:port. bits_per_second 0: no limit.
    delay_relay(const std::string& host, std::uint16_t port, std::chrono::microseconds round_trip,
                double bits_per_second);
    ~delay_relay();
    delay_relay(const delay_relay&) = delete;
    delay_relay& operator=(const delay_relay&) = delete;

    std::uint16_t port() const;

    // Bytes every relay of this process has delivered so far, both ways:
    // what the emulated link carried (read before and after a measurement).
    static std::uint64_t bytes_carried();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::bench
