// Handlers of the core endpoints under /0.1/{user} (protocol section 2).
#include "api/error_response.hpp"
#include "api/handlers.hpp"
#include "api/json_codec.hpp"

#include <chunklog/sha256.hpp>

#include <boost/algorithm/string/split.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <boost/json.hpp>

#include <charconv>

namespace chunklog::api {
namespace {

using storage::insert_result;

constexpr std::size_t default_list_limit = 100;
constexpr std::size_t max_wait_seconds = 60;


// True when an If-None-Match header names this entity tag (or is "*").
bool etag_matches(std::string_view header, std::string_view etag) {
    std::vector<std::string> tags;
    boost::algorithm::split(tags, header, [](char c) { return c == ','; });
    for (auto& tag : tags) {
        boost::algorithm::trim(tag);
        if (tag.starts_with("W/")) tag.erase(0, 2);
        if (tag == "*" || tag == etag) return true;
    }
    return false;
}

response stored_response(insert_result result, boost::json::object body) {
    return json_response(result == insert_result::created ? 201 : 200, body);
}

response current_head(handler_context& ctx, const uuid& user) {
    auto h = ctx.store.head(user);
    if (!h) return error_response(h.error());
    return json_response(200, json::head_object(*h));
}

response advance(handler_context& ctx, const uuid& user, const request& req) {
    auto target = json::parse_head_update(req.body);
    if (!target) return error_response(target.error());
    auto done = ctx.store.advance_head(user, *target);
    if (!done) {
        if (done.error().code == errc::conflict) ctx.counters.conflict();
        return error_response(done.error());
    }
    ctx.counters.head_advanced();
    ctx.watch.notify(user, *done);
    auto r = no_content();
    add_snapshot_urgency(ctx, user, r);
    return r;
}

// A chunk's size and bytes, read from memory only when the request may not
// block; nullopt (with `retry` set) when they are on disk.
template <typename T>
outcome<std::optional<T>> read_or_retry(outcome<storage::cached_read<T>> cached, bool& retry) {
    if (!cached) return cached.error();
    retry = cached->on_disk;
    return std::move(cached->value);
}

// The answer's headers; the ETag is the chunk id.
response chunk_found(const digest& id) {
    response r;
    r.headers.reserve(2);
    r.set_header("ETag", "\"" + id.to_string() + "\"");
    r.set_header("Cache-Control", "public, max-age=31536000, immutable");
    return r;
}

// HEAD, or a GET with If-None-Match: answered from the chunk's size record
// (one bloom-filtered read), never its bytes.
response chunk_head_or_revalidate(handler_context& ctx, const uuid& user, const digest& id, const request& req) {
    bool retry = false;
    auto size = req.may_block ? ctx.store.chunk_size(user, id) : read_or_retry(ctx.store.cached_chunk_size(user, id), retry);
    if (retry) return retry_on_blocking_pool();
    if (!size) return error_response(size.error());
    if (!*size) return error_response(errc::not_found, "no such chunk");
    auto r = chunk_found(id);
    if (!req.if_none_match.empty() && etag_matches(req.if_none_match, r.headers.front().second)) {
        r.status = 304;
        return r;
    }
    r.content_type = "application/octet-stream";
    r.head_length = **size;
    return r;
}

// On an I/O thread reads come from memory, and a chunk on disk only is read
// on the blocking pool. A plain GET reads the bytes alone (one read).
response chunk_get(handler_context& ctx, const uuid& user, const digest& id, const request& req) {
    if (req.method == http_method::head || !req.if_none_match.empty()) {
        auto r = chunk_head_or_revalidate(ctx, user, id, req);
        if (req.method == http_method::head || r.status != 200 || r.retry_blocking) return r;
    }
    bool retry = false;
    auto bytes = req.may_block ? ctx.store.chunk(user, id) : read_or_retry(ctx.store.cached_chunk(user, id), retry);
    if (retry) return retry_on_blocking_pool();
    if (!bytes) return error_response(bytes.error());
    if (!*bytes) return error_response(errc::not_found, "no such chunk");
    auto r = chunk_found(id);
    r.content_type = "application/octet-stream";
    r.body = std::move(**bytes);
    return r;
}

response chunk_put_answer(handler_context& ctx, const digest& id, std::size_t size,
                          const outcome<storage::insert_result>& stored) {
    if (!stored) return error_response(stored.error());
    if (*stored == insert_result::created) ctx.counters.chunks_stored(1, size);
    return stored_response(*stored, {{"id", id.to_string()}, {"size", size}});
}

// The session already refused a body over max_chunk_bytes before reading
// it (body_rule_for); the check here keeps router::handle correct for any
// caller, such as tests and tools that use it without a session.
response chunk_put(handler_context& ctx, const uuid& user, const digest& id, const request& req) {
    if (req.body.size() > ctx.options.limits.max_chunk_bytes)
        return error_response(errc::payload_too_large, "the chunk is larger than max_chunk_bytes");
    auto actual = req.body_sha256 ? *req.body_sha256 : sha256_of(req.body);
    if (actual != id)
        return error_response(errc::hash_mismatch, "the body's SHA-256 is " + actual.to_string());
    if (req.may_block) return chunk_put_answer(ctx, id, req.body.size(), ctx.store.put_chunk(user, id, req.body));
    // On an I/O thread the store queues the write (the session keeps the
    // body until the answer), and the answer is made when it completes.
    response r;
    r.deferred = [ctx, user, id, &req](answer_sink sink) {
        ctx.store.put_chunk_queued(user, id, req.body,
                                   [ctx, id, size = req.body.size(), sink = std::move(sink)](
                                       outcome<storage::insert_result> stored) mutable {
                                       sink([ctx, id, size, stored]() mutable {
                                           return chunk_put_answer(ctx, id, size, stored);
                                       });
                                   });
    };
    return r;
}

}  // namespace

// A non-negative decimal integer; values above `max` are clamped to it.
outcome<std::size_t> parse_limit(std::optional<std::string_view> text, std::size_t fallback, std::size_t max) {
    if (!text) return std::min(fallback, max);
    if (text->empty() || text->find_first_not_of("0123456789") != std::string_view::npos)
        return make_error(errc::bad_request, "`limit` must be an integer >= 0");
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec == std::errc::result_out_of_range) return max;
    return static_cast<std::size_t>(std::min<std::uint64_t>(value, max));
}

outcome<uuid> parse_from(std::optional<std::string_view> text) {
    if (!text) return root_id;
    auto id = uuid::parse(*text);
    if (!id) return make_error(errc::invalid_id, "`from` is not a canonical lowercase UUID");
    return *id;
}

response json_response(unsigned status, const boost::json::value& body) {
    response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = boost::json::serialize(body);
    return r;
}

response no_content() {
    response r;
    r.status = 204;
    return r;
}

response handle_user(handler_context& ctx, const uuid& user, const request& req) {
    if (req.method == http_method::delete_) {
        if (!ctx.options.allow_delete) return error_response(errc::forbidden, "deletion is disabled on this server");
        auto done = ctx.store.delete_user(user);
        if (!done) return error_response(done.error());
        ctx.watch.notify(user);
        return no_content();
    }
    auto o = ctx.store.overview(user);
    if (!o) return error_response(o.error());
    auto quota = ctx.store.quota_in_force(user);
    if (!quota) return error_response(quota.error());
    const auto& s = o->summary;
    boost::json::value snapshot = nullptr;
    if (o->snapshot) snapshot = json::snapshot_ref_object(*o->snapshot);
    return json_response(200, {{"user", user.to_string()},
                               {"head", s.head.head.to_string()},
                               {"seq", s.head.seq},
                               {"transactions", s.transactions},
                               {"chunks", s.chunks},
                               {"bytes", s.bytes},
                               {"quota_bytes", *quota},
                               {"snapshot", std::move(snapshot)},
                               {"snapshot_urgency", json::urgency_name(o->urgency)},
                               {"history_from", o->history_from}});
}

response handle_head(handler_context& ctx, const uuid& user, const route_match& m, const request& req) {
    if (req.method == http_method::put) return advance(ctx, user, req);
    auto wait = m.param("wait");
    if (!wait) return current_head(ctx, user);
    auto seconds = parse_limit(*wait, 0, max_wait_seconds + 1);
    if (!seconds || *seconds < 1 || *seconds > max_wait_seconds)
        return error_response(errc::bad_request, "`wait` must be an integer from 1 to 60");
    auto h = ctx.store.head(user);
    if (!h) return error_response(h.error());
    uuid known = h->head;
    if (auto k = m.param("known")) {
        auto parsed = uuid::parse(*k);
        if (!parsed) return error_response(errc::invalid_id, "`known` is not a canonical lowercase UUID");
        known = *parsed;
    }
    if (h->head != known) return json_response(200, json::head_object(*h));
    response r;
    r.poll = long_poll{user, known, std::chrono::seconds(*seconds), [](const outcome<head_state>& now) {
                           return now ? json_response(200, json::head_object(*now)) : error_response(now.error());
                       }};
    return r;
}

response handle_transactions(handler_context& ctx, const uuid& user, const route_match& m) {
    auto from = parse_from(m.param("from"));
    if (!from) return error_response(from.error());
    auto limit = parse_limit(m.param("limit"), default_list_limit, ctx.options.limits.max_list_limit);
    if (!limit) return error_response(limit.error());
    auto listing = ctx.store.list_committed(user, *from, *limit);
    if (!listing) return store_error(ctx, user, listing.error());
    return json_response(200, {{"from", from->to_string()},
                               {"limit", *limit},
                               {"head", listing->head.head.to_string()},
                               {"transactions", json::id_array(listing->ids)}});
}

response handle_transaction(handler_context& ctx, const uuid& user, const route_match& m, const request& req) {
    auto id = uuid::parse(m.id);
    if (!id) return error_response(errc::invalid_id, "the transaction id is not a canonical lowercase UUID");
    if (req.method == http_method::put) {
        auto t = json::parse_transaction(*id, req.body, ctx.options.limits.max_chunks_per_transaction);
        if (!t) return error_response(t.error());
        auto stored = ctx.store.put_transaction(user, *t);
        if (!stored) return error_response(stored.error());
        if (stored->result == insert_result::created) ctx.counters.transactions_stored(1);
        return stored_response(stored->result, json::transaction_object(stored->record));
    }
    auto t = ctx.store.committed_transaction(user, *id);
    if (!t) return error_response(t.error());
    if (!*t) return error_response(errc::not_found, "no committed transaction with this id");
    std::optional<uuid> origin;
    if ((*t)->seq == 1) {  // only the first version can have one (protocol section 12)
        auto o = ctx.store.origin_parent(user, *id);
        if (!o) return error_response(o.error());
        origin = *o;
    }
    return json_response(200, json::transaction_object(**t, origin));
}

response handle_chunk(handler_context& ctx, const uuid& user, const route_match& m, const request& req) {
    auto id = digest::parse(m.id);
    if (!id) return error_response(errc::invalid_id, "the chunk id is not a lowercase hex SHA-256");
    if (req.method == http_method::put) return chunk_put(ctx, user, *id, req);
    return chunk_get(ctx, user, *id, req);
}

}  // namespace chunklog::api
