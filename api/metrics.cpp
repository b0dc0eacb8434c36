#include "api/metrics.hpp"

#include "api/routes.hpp"

#include <algorithm>
#include <sstream>

namespace chunklog::api {
namespace {

void counter(std::ostringstream& out, std::string_view name, std::string_view help, std::uint64_t value,
             std::string_view type = "counter") {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
}

}  // namespace

void metrics::record_request(route_kind route, unsigned status, std::chrono::nanoseconds latency,
                             std::uint64_t bytes_in, std::uint64_t bytes_out) {
    bool known = status >= first_status && status < first_status + status_slots;
    auto slot = (known ? status : 500u) - first_status;  // a status outside 100..599 counts as 500
    requests_[static_cast<std::size_t>(route)][slot].fetch_add(1, std::memory_order_relaxed);
    if (status == 429) rate_limited_.fetch_add(1, std::memory_order_relaxed);
    if (status == 507) storage_full_.fetch_add(1, std::memory_order_relaxed);
    double seconds = std::chrono::duration<double>(latency).count();
    auto bucket = std::lower_bound(bucket_bounds.begin(), bucket_bounds.end(), seconds) - bucket_bounds.begin();
    latency_buckets_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
    latency_count_.fetch_add(1, std::memory_order_relaxed);
    bytes_in_.fetch_add(bytes_in, std::memory_order_relaxed);
    bytes_out_.fetch_add(bytes_out, std::memory_order_relaxed);
}

void metrics::chunks_stored(std::uint64_t count, std::uint64_t bytes) {
    chunks_stored_.fetch_add(count, std::memory_order_relaxed);
    chunk_bytes_stored_.fetch_add(bytes, std::memory_order_relaxed);
}

void metrics::gc_pass(std::chrono::nanoseconds duration, std::uint64_t examined, std::uint64_t transactions,
                      std::uint64_t truncated, std::uint64_t chunks, std::uint64_t bytes) {
    auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
    gc_passes_.fetch_add(1, std::memory_order_relaxed);
    gc_duration_ns_.fetch_add(ns, std::memory_order_relaxed);
    gc_last_duration_ns_.store(ns, std::memory_order_relaxed);
    gc_examined_.fetch_add(examined, std::memory_order_relaxed);
    gc_transactions_.fetch_add(transactions, std::memory_order_relaxed);
    gc_truncated_.fetch_add(truncated, std::memory_order_relaxed);
    gc_chunks_.fetch_add(chunks, std::memory_order_relaxed);
    gc_bytes_.fetch_add(bytes, std::memory_order_relaxed);
}

std::string metrics::render() const {
    std::ostringstream out;
    out << "# HELP chunklog_requests_total HTTP requests answered, by route and status.\n"
           "# TYPE chunklog_requests_total counter\n";
    for (std::size_t route = 0; route < route_kind_count; ++route)
        for (unsigned slot = 0; slot < status_slots; ++slot)
            if (auto count = requests_[route][slot].load(std::memory_order_relaxed); count != 0)
                out << "chunklog_requests_total{route=\"" << route_name(static_cast<route_kind>(route))
                    << "\",status=\"" << slot + first_status << "\"} " << count << '\n';
    out << "# HELP chunklog_request_duration_seconds Time from a complete request to its answer.\n"
           "# TYPE chunklog_request_duration_seconds histogram\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bucket_bounds.size(); ++i) {
        cumulative += latency_buckets_[i].load(std::memory_order_relaxed);
        out << "chunklog_request_duration_seconds_bucket{le=\"" << bucket_bounds[i] << "\"} " << cumulative << '\n';
    }
    cumulative += latency_buckets_.back().load(std::memory_order_relaxed);
    out << "chunklog_request_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << '\n'
        << "chunklog_request_duration_seconds_sum " << static_cast<double>(latency_sum_ns_.load()) / 1e9 << '\n'
        << "chunklog_request_duration_seconds_count " << latency_count_.load() << '\n';
    counter(out, "chunklog_http_bytes_received_total", "Request body bytes received.", bytes_in_.load());
    counter(out, "chunklog_http_bytes_sent_total", "Response body bytes sent.", bytes_out_.load());
    counter(out, "chunklog_chunks_stored_total", "Chunks newly stored.", chunks_stored_.load());
    counter(out, "chunklog_chunk_bytes_stored_total", "Bytes of chunks newly stored.", chunk_bytes_stored_.load());
    counter(out, "chunklog_transactions_stored_total", "Transactions newly stored.", transactions_stored_.load());
    counter(out, "chunklog_head_advances_total", "Successful HEAD advances.", head_advances_.load());
    counter(out, "chunklog_conflicts_total", "HEAD advances refused with 409 conflict.", conflicts_.load());
    counter(out, "chunklog_auth_failures_total", "Requests refused 401 for a missing, unknown, expired or revoked token.",
            auth_failures_.load());
    counter(out, "chunklog_rate_limited_total", "Requests answered 429 by the failed-authentication limiter.",
            rate_limited_.load());
    counter(out, "chunklog_storage_full_total", "Writes answered 507 (a quota, or a full disk).", storage_full_.load());
    counter(out, "chunklog_gc_passes_total", "Garbage collection passes run (finished or stopped).", gc_passes_.load());
    counter(out, "chunklog_gc_failures_total", "Garbage collection passes that failed.", gc_failures_.load());
    out << "# HELP chunklog_gc_pass_seconds_total Time spent in garbage collection passes.\n"
           "# TYPE chunklog_gc_pass_seconds_total counter\n"
        << "chunklog_gc_pass_seconds_total " << static_cast<double>(gc_duration_ns_.load()) / 1e9 << '\n'
        << "# HELP chunklog_gc_last_pass_seconds Duration of the last garbage collection pass.\n"
           "# TYPE chunklog_gc_last_pass_seconds gauge\n"
        << "chunklog_gc_last_pass_seconds " << static_cast<double>(gc_last_duration_ns_.load()) / 1e9 << '\n';
    counter(out, "chunklog_gc_examined_total", "Records looked at by garbage collection.", gc_examined_.load());
    counter(out, "chunklog_gc_transactions_removed_total",
            "Transactions removed by garbage collection (dead, pending and truncated history).", gc_transactions_.load());
    counter(out, "chunklog_gc_history_truncated_total", "Committed transactions removed by history truncation.",
            gc_truncated_.load());
    counter(out, "chunklog_gc_chunks_removed_total", "Chunks removed by garbage collection.", gc_chunks_.load());
    counter(out, "chunklog_gc_bytes_freed_total", "Chunk bytes removed by garbage collection.", gc_bytes_.load());
    counter(out, "chunklog_tls_handshakes_total", "TLS handshakes completed.", tls_handshakes_.load());
    counter(out, "chunklog_tls_handshake_failures_total", "TLS handshakes that failed.", tls_handshake_failures_.load());
    counter(out, "chunklog_connections_refused_total", "Connections refused at the connection limit.",
            refused_connections_.load());
    counter(out, "chunklog_open_connections", "Connections open now.",
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, open_connections_.load())), "gauge");
    counter(out, "chunklog_long_polls_waiting", "Long polls waiting for HEAD to change now.",
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, long_polls_.load())), "gauge");
    counter(out, "chunklog_requests_in_flight", "Requests being read, handled or answered now.",
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, in_flight_.load())), "gauge");
    return out.str();
}

}  // namespace chunklog::api
