// Handlers of snapshots (protocol section 8) and garbage collection
// (sections 9 and 11), and the snapshot details other handlers add to
// their answers.
#include "api/error_response.hpp"
#include "api/gc_runner.hpp"
#include "api/handlers.hpp"
#include "api/json_codec.hpp"
#include "api/token_secret.hpp"

#include <boost/json.hpp>

namespace chunklog::api {

response store_error(handler_context& ctx, const uuid& user, const error& e) {
    auto r = error_response(e);
    if (e.code != errc::history_truncated) return r;
    auto body = boost::json::parse(r.body).as_object();
    auto s = ctx.store.snapshot(user);
    if (s && *s) body["snapshot"] = json::snapshot_ref_object({(*s)->transaction, (*s)->seq});
    else body["snapshot"] = nullptr;  // deleted meanwhile
    r.body = boost::json::serialize(body);
    return r;
}

void set_snapshot_urgency(response& r, storage::snapshot_urgency u) {
    if (u != storage::snapshot_urgency::none) r.set_header("Snapshot-Urgency", std::string(json::urgency_name(u)));
}

void add_snapshot_urgency(handler_context& ctx, const uuid& user, response& r) {
    // The write is done: a failed read only leaves the header out.
    if (auto u = ctx.store.urgency(user)) set_snapshot_urgency(r, *u);
}

response handle_snapshot(handler_context& ctx, const uuid& user) {
    auto s = ctx.store.snapshot(user);
    if (!s) return error_response(s.error());
    if (!*s) return error_response(errc::not_found, "this user has no snapshot");
    boost::json::array chunks;
    chunks.reserve((*s)->chunks.size());
    for (const auto& c : (*s)->chunks) chunks.emplace_back(c.to_string());
    auto created = (*s)->created >= 0 ? (*s)->created / 1000 : -((-(*s)->created + 999) / 1000);
    return json_response(200, {{"transaction", (*s)->transaction.to_string()},
                               {"seq", (*s)->seq},
                               {"chunks", std::move(chunks)},
                               {"created", rfc3339(created)}});
}

response handle_snapshot_put(handler_context& ctx, const uuid& user, const route_match& m, const request& req) {
    auto id = uuid::parse(m.id);
    if (!id) return error_response(errc::invalid_id, "the transaction id is not a canonical lowercase UUID");
    auto chunks = json::parse_snapshot(req.body, ctx.options.limits.max_chunks_per_transaction);
    if (!chunks) return error_response(chunks.error());
    auto stored = ctx.store.put_snapshot(user, *id, *chunks);
    if (!stored) return error_response(stored.error());
    return json_response(stored->result == storage::insert_result::created ? 201 : 200,
                         json::snapshot_ref_object(stored->in_force));
}

response handle_admin_gc(handler_context& ctx) {
    auto pass = run_gc_pass(ctx.store, ctx.counters);
    if (!pass) return error_response(pass.error());
    return json_response(200, {{"transactions", pass->transactions}, {"chunks", pass->chunks}, {"bytes", pass->bytes}});
}

}  // namespace chunklog::api
