// The endpoint handlers behind the router, one function per route. Each gets
// a validated user (for /0.1 routes), the parsed target, and the request, and
// returns the full response. Internal to the HTTP layer; thread-safe as long
// as the context's members are (they are).
#pragma once

#include "api/access_control.hpp"
#include "api/head_watch.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/routes.hpp"
#include "api/service_options.hpp"

#include <chunklog/storage/log_store.hpp>

#include <boost/json/value.hpp>

namespace chunklog::api {

struct handler_context {
    storage::log_store& store;
    const service_options& options;
    metrics& counters;
    head_watch& watch;
    access_control& access;
};

response json_response(unsigned status, const boost::json::value& body);
// Query parameters shared by the listing and the log.
outcome<uuid> parse_from(std::optional<std::string_view> text);
outcome<std::size_t> parse_limit(std::optional<std::string_view> text, std::size_t fallback, std::size_t max);
response no_content();

response handle_user(handler_context& ctx, const uuid& user, const request& req);
response handle_head(handler_context& ctx, const uuid& user, const route_match& m, const request& req);
response handle_transactions(handler_context& ctx, const uuid& user, const route_match& m);
response handle_transaction(handler_context& ctx, const uuid& user, const route_match& m, const request& req);
response handle_chunk(handler_context& ctx, const uuid& user, const route_match& m, const request& req);

response handle_chunks_missing(handler_context& ctx, const uuid& user, const request& req);
response handle_publish(handler_context& ctx, const uuid& user, const request& req);

response handle_log(handler_context& ctx, const uuid& user, const route_match& m);

response handle_service(handler_context& ctx, route_kind kind);

response handle_tokens(handler_context& ctx, const uuid& user, const request& req);
response handle_token(handler_context& ctx, const uuid& user, const route_match& m);
response handle_quota(handler_context& ctx, const uuid& user, const request& req);
response handle_admin_users(handler_context& ctx, const route_match& m);

// Snapshots, garbage collection and history (protocol sections 8, 9 and 11).
response handle_snapshot(handler_context& ctx, const uuid& user);
response handle_snapshot_put(handler_context& ctx, const uuid& user, const route_match& m, const request& req);
response handle_admin_gc(handler_context& ctx);
// An error answer; history_truncated carries the user's snapshot, as section 9 asks.
response store_error(handler_context& ctx, const uuid& user, const error& e);
// Adds Snapshot-Urgency to a 2xx answer of a write that advanced (or kept)
// HEAD: the urgency the store reports, or `u` when the write learned it.
void add_snapshot_urgency(handler_context& ctx, const uuid& user, response& r);
void set_snapshot_urgency(response& r, storage::snapshot_urgency u);

// TaskChampion's sync protocol (protocol section 12), the user named by
// X-Client-Id (handlers_taskchampion.cpp).
response handle_tc_add_version(handler_context& ctx, const route_match& m, const request& req);
response handle_tc_get_child_version(handler_context& ctx, const route_match& m, const request& req);
response handle_tc_add_snapshot(handler_context& ctx, const route_match& m, const request& req);
response handle_tc_get_snapshot(handler_context& ctx, const request& req);

}  // namespace chunklog::api
