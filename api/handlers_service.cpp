// Handlers of the service endpoints (protocol section 4): /, /healthz,
// /limits, /metrics.
#include "api/error_response.hpp"
#include "api/handlers.hpp"

#include <chunklog/version.hpp>

#include <boost/json.hpp>

namespace chunklog::api {
namespace {

response text_response(std::string_view content_type, std::string body) {
    response r;
    r.content_type = content_type;
    r.body = std::move(body);
    return r;
}

boost::json::object limits_object(const service_limits& l) {
    return {{"max_chunk_bytes", l.max_chunk_bytes},
            {"max_json_bytes", l.max_json_bytes},
            {"max_publish_bytes", l.max_publish_bytes},
            {"max_publish_chunks", l.max_publish_chunks},
            {"max_publish_transactions", l.max_publish_transactions},
            {"max_chunks_per_transaction", l.max_chunks_per_transaction},
            {"max_missing_query", l.max_missing_query},
            {"max_list_limit", l.max_list_limit},
            {"max_log_limit", l.max_log_limit},
            {"max_log_page_bytes", l.max_log_page_bytes},
            {"quota_bytes", l.quota_bytes}};
}

response health(handler_context& ctx) {
    switch (ctx.store.writes()) {
    case storage::write_state::ok: return json_response(200, {{"status", "ok"}});
    case storage::write_state::no_space:
        return json_response(503, {{"error", "unavailable"},
                                   {"message", "the disk is full: writes are refused until space is free"},
                                   {"status", "no_space"}});
    case storage::write_state::failed: break;
    }
    return json_response(503, {{"error", "unavailable"},
                               {"message", "the store refuses writes after a write failure"},
                               {"status", "unavailable"}});
}

// The store's commit pipeline: writes per group is their ratio.
std::string write_group_metrics(const storage::log_store::write_group_stats& stats) {
    return "# HELP chunklog_write_groups_total Groups of writes committed by the store's commit pipeline, one synced "
           "write each.\n# TYPE chunklog_write_groups_total counter\nchunklog_write_groups_total " +
           std::to_string(stats.groups) +
           "\n# HELP chunklog_grouped_writes_total Writes committed (or refused) through the store's commit "
           "pipeline.\n# TYPE chunklog_grouped_writes_total counter\nchunklog_grouped_writes_total " +
           std::to_string(stats.writes) + "\n";
}

}  // namespace

response handle_service(handler_context& ctx, route_kind kind) {
    switch (kind) {
    case route_kind::server_info:
        return text_response("text/plain; charset=utf-8", std::string("chunklogd ") + software_version +
                                                              " (protocol " + protocol_version + ")\n");
    case route_kind::healthz: return health(ctx);
    case route_kind::limits: {
        auto limits = limits_object(ctx.options.limits);
        using std::chrono::duration_cast;
        using std::chrono::seconds;
        limits["gc_grace_seconds"] = duration_cast<seconds>(ctx.store.gc_grace()).count();
        limits["history_retention_seconds"] = duration_cast<seconds>(ctx.store.history_retention()).count();
        return json_response(200, limits);
    }
    case route_kind::metrics:
        return text_response("text/plain; version=0.0.4; charset=utf-8",
                             ctx.counters.render() + write_group_metrics(ctx.store.write_groups()));
    default: break;
    }
    return error_response(errc::not_found, "no such path");
}

}  // namespace chunklog::api
