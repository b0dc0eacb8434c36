// Process-wide counters for GET /metrics, rendered in the Prometheus text
// exposition format. Every member function is thread-safe and lock-free
// (relaxed atomics: a scrape may see one request's counters half updated).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "api/http_types.hpp"

namespace chunklog::api {

class metrics {
public:
    void record_request(route_kind route, unsigned status, std::chrono::nanoseconds latency,
                        std::uint64_t bytes_in, std::uint64_t bytes_out);
    void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
    void connection_refused() { refused_connections_.fetch_add(1, std::memory_order_relaxed); }
    std::int64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
    void long_poll_waiting(bool starts) { long_polls_.fetch_add(starts ? 1 : -1, std::memory_order_relaxed); }
    // From a request's first byte to the end of its answer.
    void request_in_flight(bool starts) { in_flight_.fetch_add(starts ? 1 : -1, std::memory_order_relaxed); }

    void chunks_stored(std::uint64_t count, std::uint64_t bytes);
    void transactions_stored(std::uint64_t count) { transactions_stored_.fetch_add(count, std::memory_order_relaxed); }
    void head_advanced() { head_advances_.fetch_add(1, std::memory_order_relaxed); }
    void conflict() { conflicts_.fetch_add(1, std::memory_order_relaxed); }
    // A request refused 401: no token, or an unknown, expired or revoked one.
    void auth_failed() { auth_failures_.fetch_add(1, std::memory_order_relaxed); }
    // One garbage collection pass (protocol section 9), finished or stopped.
    void gc_pass(std::chrono::nanoseconds duration, std::uint64_t examined, std::uint64_t transactions,
                 std::uint64_t truncated, std::uint64_t chunks, std::uint64_t bytes);
    void gc_failed() { gc_failures_.fetch_add(1, std::memory_order_relaxed); }
    void tls_handshake(bool succeeded) {
        (succeeded ? tls_handshakes_ : tls_handshake_failures_).fetch_add(1, std::memory_order_relaxed);
    }

    std::string render() const;

private:
    static constexpr std::array<double, 14> bucket_bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};

    static constexpr unsigned first_status = 100;
    static constexpr unsigned status_slots = 500;  // 100..599
    using status_counts = std::array<std::atomic<std::uint64_t>, status_slots>;
    std::array<status_counts, route_kind_count> requests_{};  // [route][status - 100]

    std::array<std::atomic<std::uint64_t>, bucket_bounds.size() + 1> latency_buckets_{};
    std::atomic<std::uint64_t> latency_sum_ns_{0};
    std::atomic<std::uint64_t> latency_count_{0};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::atomic<std::uint64_t> bytes_out_{0};
    std::atomic<std::int64_t> open_connections_{0};
    std::atomic<std::uint64_t> refused_connections_{0};
    std::atomic<std::int64_t> long_polls_{0};
    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<std::uint64_t> chunks_stored_{0};
    std::atomic<std::uint64_t> chunk_bytes_stored_{0};
    std::atomic<std::uint64_t> transactions_stored_{0};
    std::atomic<std::uint64_t> head_advances_{0};
    std::atomic<std::uint64_t> conflicts_{0};
    std::atomic<std::uint64_t> auth_failures_{0};
    std::atomic<std::uint64_t> rate_limited_{0};        // 429 answers
    std::atomic<std::uint64_t> storage_full_{0};        // 507 answers
    std::atomic<std::uint64_t> gc_passes_{0};
    std::atomic<std::uint64_t> gc_failures_{0};
    std::atomic<std::uint64_t> gc_duration_ns_{0};       // all passes
    std::atomic<std::uint64_t> gc_last_duration_ns_{0};  // the last pass
    std::atomic<std::uint64_t> gc_examined_{0};
    std::atomic<std::uint64_t> gc_transactions_{0};
    std::atomic<std::uint64_t> gc_truncated_{0};
    std::atomic<std::uint64_t> gc_chunks_{0};
    std::atomic<std::uint64_t> gc_bytes_{0};
    std::atomic<std::uint64_t> tls_handshakes_{0};
    std::atomic<std::uint64_t> tls_handshake_failures_{0};
};

}  // namespace chunklog::api
