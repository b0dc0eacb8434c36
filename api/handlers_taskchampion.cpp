// Handlers of TaskChampion's sync protocol (protocol section 12): the user is
// X-Client-Id, a version is a committed transaction of one chunk, the
// snapshot is the section 8 snapshot of one chunk. Headers and content types
// are byte-exact, since the client compares them as strings.
#include "api/error_response.hpp"
#include "api/handlers.hpp"

#include <chunklog/sha256.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/algorithm/string/trim.hpp>

namespace chunklog::api {
namespace {

constexpr std::string_view history_segment_type = "application/vnd.taskchampion.history-segment";
constexpr std::string_view snapshot_type = "application/vnd.taskchampion.snapshot";

// The X-Client-Id: a canonical lowercase UUID, as TaskChampion sends it.
outcome<uuid> client_user(const request& req) {
    if (req.client_id.empty()) return make_error(errc::bad_request, "the X-Client-Id header is missing");
    auto user = uuid::parse(req.client_id);
    if (!user) return make_error(errc::bad_request, "the X-Client-Id header is not a canonical lowercase UUID");
    return *user;
}

// The media type of Content-Type must be `expected` (case-insensitive;
// parameters are ignored).
outcome<void> check_content_type(const request& req, std::string_view expected) {
    std::string_view type = req.content_type;
    type = type.substr(0, type.find(';'));
    if (boost::iequals(boost::algorithm::trim_copy(std::string(type)), expected)) return {};
    return make_error(errc::bad_request, "the Content-Type must be " + std::string(expected));
}

outcome<uuid> path_version(const route_match& m) {
    auto id = uuid::parse(m.id);
    if (!id) return make_error(errc::invalid_id, "the version id is not a canonical lowercase UUID");
    return *id;
}

// What both POSTs check before storing: who, what type, which version, and
// a body that is neither empty nor over max_chunk_bytes (the session
// refused a larger Content-Length before reading; this keeps router::handle
// right for callers without a session).
outcome<std::pair<uuid, uuid>> check_upload(handler_context& ctx, const route_match& m, const request& req,
                                            std::string_view type) {
    auto user = client_user(req);
    if (!user) return user.error();
    if (auto t = check_content_type(req, type); !t) return t.error();
    auto version = path_version(m);
    if (!version) return version.error();
    if (req.body.empty()) return make_error(errc::bad_request, "the body is empty");
    if (req.body.size() > ctx.options.limits.max_chunk_bytes)
        return make_error(errc::payload_too_large, "the body is larger than max_chunk_bytes");
    return std::pair{*user, *version};
}

// 409: empty body, HEAD in X-Parent-Version-Id.
response version_conflict(const error& e) {
    response r;
    r.status = 409;
    r.set_header("X-Parent-Version-Id", e.head.value_or(root_id).to_string());
    return r;
}

void add_snapshot_request(handler_context& ctx, const uuid& user, response& r) {
    // The write is done: a failed read only leaves the header out.
    auto u = ctx.store.urgency(user);
    if (!u || *u == storage::snapshot_urgency::none) return;
    r.set_header("X-Snapshot-Request", *u == storage::snapshot_urgency::high ? "urgency=high" : "urgency=low");
}

response bytes_response(std::string_view type, std::string body) {
    response r;
    r.content_type = type;
    r.body = std::move(body);
    return r;
}

}  // namespace

response handle_tc_add_version(handler_context& ctx, const route_match& m, const request& req) {
    auto checked = check_upload(ctx, m, req, history_segment_type);
    if (!checked) return error_response(checked.error());
    auto [user, parent] = *checked;
    auto chunk = req.body_sha256 ? *req.body_sha256 : sha256_of(req.body);
    auto id = uuid::random();
    auto added = ctx.store.add_version(user, {parent, id, chunk, req.body});
    if (!added) {
        if (added.error().code != errc::conflict) return error_response(added.error());
        ctx.counters.conflict();
        return version_conflict(added.error());
    }
    ctx.counters.chunks_stored(added->chunks_created, added->chunk_bytes_created);
    ctx.counters.transactions_stored(added->transactions_created);
    ctx.counters.head_advanced();
    ctx.watch.notify(user, added->after);
    response r;
    r.set_header("X-Version-Id", id.to_string());
    add_snapshot_request(ctx, user, r);
    return r;
}

// Reads on the blocking pool: a lookup is several reads that may hit the disk.
response handle_tc_get_child_version(handler_context& ctx, const route_match& m, const request& req) {
    auto user = client_user(req);
    if (!user) return error_response(user.error());
    auto parent = path_version(m);
    if (!parent) return error_response(parent.error());
    if (!req.may_block) return retry_on_blocking_pool();
    auto found = ctx.store.find_child_version(*user, *parent);
    if (!found) return error_response(found.error());
    using status = storage::child_version::status;
    if (found->outcome == status::up_to_date)
        return error_response(errc::not_found, "no version after this one: the client is up to date");
    if (found->outcome == status::gone)
        return store_error(ctx, *user,
                           make_error(errc::history_truncated,
                                      "the parent version is unknown, not committed, or removed by history "
                                      "truncation, or its child is not a version: start from the snapshot"));
    auto r = bytes_response(history_segment_type, std::move(found->bytes));
    r.set_header("X-Version-Id", found->id.to_string());
    r.set_header("X-Parent-Version-Id", parent->to_string());
    return r;
}

response handle_tc_add_snapshot(handler_context& ctx, const route_match& m, const request& req) {
    auto checked = check_upload(ctx, m, req, snapshot_type);
    if (!checked) return error_response(checked.error());
    auto [user, version] = *checked;
    auto chunk = req.body_sha256 ? *req.body_sha256 : sha256_of(req.body);
    // 200 whether stored or ignored by TaskChampion's rule (any other
    // answer would fail the client's sync after its version was stored).
    auto stored = ctx.store.put_version_snapshot(user, version, chunk, req.body);
    if (!stored) return error_response(stored.error());
    return response{};
}

response handle_tc_get_snapshot(handler_context& ctx, const request& req) {
    auto user = client_user(req);
    if (!user) return error_response(user.error());
    if (!req.may_block) return retry_on_blocking_pool();
    auto s = ctx.store.find_version_snapshot(*user);
    if (!s) return error_response(s.error());
    if (!*s) return error_response(errc::not_found, "this user has no snapshot");
    auto r = bytes_response(snapshot_type, std::move((*s)->bytes));
    r.set_header("X-Version-Id", (*s)->version.to_string());
    return r;
}

}  // namespace chunklog::api
