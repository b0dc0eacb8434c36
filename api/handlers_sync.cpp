// Handlers of the batching extensions (protocol section 3): POST
// chunks/missing and POST publish.
#include "api/error_response.hpp"
#include "api/handlers.hpp"
#include "api/json_codec.hpp"

#include <boost/json.hpp>

namespace chunklog::api {

response handle_chunks_missing(handler_context& ctx, const uuid& user, const request& req) {
    auto ids = json::parse_missing_query(req.body, ctx.options.limits.max_missing_query);
    if (!ids) return error_response(ids.error());
    auto missing = ctx.store.missing_chunks(user, *ids);
    if (!missing) return error_response(missing.error());
    boost::json::array out;
    out.reserve(missing->size());
    for (const auto& id : *missing) out.emplace_back(id.to_string());
    return json_response(200, {{"missing", std::move(out)}});
}

namespace {

response publish_answer(handler_context& ctx, const uuid& user, const outcome<storage::publish_result>& result) {
    if (!result) {
        if (result.error().code == errc::conflict) ctx.counters.conflict();
        return error_response(result.error());
    }
    ctx.counters.chunks_stored(result->chunks_created, result->chunk_bytes_created);
    ctx.counters.transactions_stored(result->transactions_created);
    if (result->head_advanced) {
        ctx.counters.head_advanced();
        ctx.watch.notify(user, result->after);
    }
    auto r = json_response(200, json::head_object(result->after));
    if (result->urgency) set_snapshot_urgency(r, *result->urgency);
    else add_snapshot_urgency(ctx, user, r);
    return r;
}

}  // namespace

// On an I/O thread (req.may_block false) the store queues the publish, and
// the answer is made when it completes.
response handle_publish(handler_context& ctx, const uuid& user, const request& req) {
    auto request = json::parse_publish(req.body, ctx.options.limits);
    if (!request) return error_response(request.error());
    if (req.may_block) return publish_answer(ctx, user, ctx.store.publish(user, *request));
    response r;
    r.deferred = [ctx, user, request = std::make_shared<storage::publish_request>(std::move(*request))](answer_sink sink) {
        ctx.store.publish_queued(user, std::move(*request),
                                 [ctx, user, sink = std::move(sink)](outcome<storage::publish_result> result) mutable {
                                     sink([ctx, user, result = std::move(result)]() mutable {
                                         return publish_answer(ctx, user, result);
                                     });
                                 });
    };
    return r;
}

}  // namespace chunklog::api
