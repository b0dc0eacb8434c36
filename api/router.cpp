#include "api/router.hpp"

#include "api/error_response.hpp"
#include "api/handlers.hpp"
#include "api/routes.hpp"

#include <exception>

namespace chunklog::api {
namespace {

response dispatch(handler_context& ctx, const route_match& m, const request& req) {
    if (m.kind == route_kind::unmatched) return error_response(errc::not_found, "no such path");
    if (!method_allowed(m.kind, req.method)) {
        auto r = error_response(errc::method_not_allowed, "method not allowed on this path");
        r.set_header("Allow", allow_header(m.kind));
        return r;
    }
    const auto& user = m.user;
    switch (m.kind) {
    case route_kind::server_info:
    case route_kind::healthz:
    case route_kind::limits:
    case route_kind::metrics: return handle_service(ctx, m.kind);
    case route_kind::admin_users: return handle_admin_users(ctx, m);
    case route_kind::admin_gc: return handle_admin_gc(ctx);
    case route_kind::tc_add_version: return handle_tc_add_version(ctx, m, req);
    case route_kind::tc_get_child_version: return handle_tc_get_child_version(ctx, m, req);
    case route_kind::tc_add_snapshot: return handle_tc_add_snapshot(ctx, m, req);
    case route_kind::tc_get_snapshot: return handle_tc_get_snapshot(ctx, req);
    default: break;
    }
    if (!user) return error_response(errc::invalid_id, "the user id is not a canonical lowercase UUID");
    switch (m.kind) {
    case route_kind::user: return handle_user(ctx, *user, req);
    case route_kind::head: return handle_head(ctx, *user, m, req);
    case route_kind::transactions: return handle_transactions(ctx, *user, m);
    case route_kind::transaction: return handle_transaction(ctx, *user, m, req);
    case route_kind::chunk: return handle_chunk(ctx, *user, m, req);
    case route_kind::chunks_missing: return handle_chunks_missing(ctx, *user, req);
    case route_kind::publish: return handle_publish(ctx, *user, req);
    case route_kind::log: return handle_log(ctx, *user, m);
    case route_kind::tokens: return handle_tokens(ctx, *user, req);
    case route_kind::token: return handle_token(ctx, *user, m);
    case route_kind::quota: return handle_quota(ctx, *user, req);
    case route_kind::snapshot: return handle_snapshot(ctx, *user);
    case route_kind::snapshots: return handle_snapshot_put(ctx, *user, m, req);
    default: break;
    }
    return error_response(errc::internal, "route without handler");
}

}  // namespace

router::router(storage::log_store& store, service_options options, metrics& counters)
    : store_(store), options_(std::move(options)), metrics_(counters), access_(options_, store_, metrics_) {}

router::body_rule router::body_rule_for(http_method method, std::string_view target) const {
    return body_rule_for(method, match_route(target).kind);
}

router::body_rule router::body_rule_for(http_method method, route_kind kind) const {
    if (method == http_method::put && kind == route_kind::chunk) return {options_.limits.max_chunk_bytes, true};
    if (method == http_method::post && kind == route_kind::publish) return {options_.limits.max_publish_bytes, false};
    // A TaskChampion version or snapshot is stored as one chunk.
    if (method == http_method::post && (kind == route_kind::tc_add_version || kind == route_kind::tc_add_snapshot))
        return {options_.limits.max_chunk_bytes, true};
    return {options_.limits.max_json_bytes, false};
}

void router::decorate(response& res, const request& req) const {
    access_.decorate(res, req);
    // Answers the admission step or the session gave carry no route yet.
    auto kind = res.route != route_kind::unmatched ? res.route : match_route(req.target).kind;
    if (is_taskchampion_route(kind)) res.set_header("Cache-Control", "no-store");
}

response router::handle(const request& req) { return handle(req, match_route(req.target)); }

response router::handle(const request& req, const route_match& m) {
    handler_context ctx{store_, options_, metrics_, watch_, access_};
    response r;
    try {
        r = dispatch(ctx, m, req);
    } catch (const std::exception& e) {
        r = error_response(errc::internal, std::string("unexpected failure: ") + e.what());
    }
    r.route = m.kind;
    return r;
}

}  // namespace chunklog::api
