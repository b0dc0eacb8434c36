// Socket-free request and response values that the HTTP session fills in and
// the router answers. They hold no Beast types, so routing and handlers can be
// compiled and tested without the networking headers. Plain values; no
// synchronization.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chunklog::api {

enum class http_method { get, head, put, post, delete_, options, other };

std::string_view method_name(http_method m);  // in routes.cpp

// Every path the server knows (see routes.hpp for matching).
enum class route_kind {
    unmatched,
    server_info,     // GET /
    healthz,         // GET /healthz
    limits,          // GET /limits
    metrics,         // GET /metrics
    user,            // /0.1/{user}
    head,            // /0.1/{user}/head
    transactions,    // /0.1/{user}/transactions
    transaction,     // /0.1/{user}/transactions/{id}
    chunk,           // /0.1/{user}/chunks/{sha256}
    chunks_missing,  // /0.1/{user}/chunks/missing
    publish,         // /0.1/{user}/publish
    log,             // /0.1/{user}/log
    tokens,          // /0.1/{user}/tokens
    token,           // /0.1/{user}/tokens/{id}
    quota,           // /0.1/{user}/quota (admin)
    admin_users,     // /admin/users (admin)
    snapshot,        // /0.1/{user}/snapshot
    snapshots,       // /0.1/{user}/snapshots/{id}
    admin_gc,        // /admin/gc (admin)
    // TaskChampion's sync protocol (protocol section 12); the user is X-Client-Id.
    tc_add_version,        // /v1/client/add-version/{parent}
    tc_get_child_version,  // /v1/client/get-child-version/{parent}
    tc_add_snapshot,       // /v1/client/add-snapshot/{version}
    tc_get_snapshot,       // /v1/client/snapshot
    last = tc_get_snapshot,  // keep last: sizes the tables indexed by route_kind
};
inline constexpr std::size_t route_kind_count = static_cast<std::size_t>(route_kind::last) + 1;

// The bearer of a verified token (or the admin token).
struct principal {
    bool admin = false;
    uuid user;                 // unset for the admin
    bool can_write = false;    // the admin and write tokens
    std::string token_id;      // the token's public name; empty for the admin
};

struct request {
    http_method method = http_method::get;
    std::string target;                 // origin-form, as received
    std::string body;
    std::optional<digest> body_sha256;  // computed while the body streamed in, when asked for
    std::string if_none_match;          // raw header value, empty when absent
    // Header fields the admission step reads before any body (empty when absent).
    std::string authorization;
    std::string origin;
    std::optional<std::uint64_t> content_length;
    std::string peer;  // the client's address, for the failed-authentication limiter
    // TaskChampion's routes (protocol section 12): the X-Client-Id and
    // Content-Type header fields (empty when absent).
    std::string client_id;
    std::string content_type;
    // Set by router::admit: who the request's token proves it comes from.
    std::optional<struct principal> caller;
    // Whether the handler runs where it may wait on the disk (the blocking
    // pool); on an I/O thread it reads from memory only and may ask for a
    // second try on the pool (response::retry_blocking).
    bool may_block = true;
};

// A streamed answer's step: more to come, done, failed (close without
// finishing), or blocked: the next piece is on disk, call again where
// blocking is fine (may_block true).
enum class stream_step { more, done, failed, blocked };

// A GET head?wait= request whose HEAD still equals `known`: the session waits
// (holding no thread) until the user's HEAD moves or `wait` passes, then
// sends answer(HEAD as read last). `answer` depends on HEAD alone: polls
// woken by one advance may share the answer one of them made.
struct long_poll {
    uuid user;
    uuid known;
    std::chrono::seconds wait{0};
    std::function<struct response(const outcome<head_state>& now)> answer;
};

struct response;
// Makes an answer; run on the session's I/O thread.
using answer_maker = std::function<response()>;
// Takes an answer_maker back to the session: called exactly once, from any thread.
using answer_sink = std::function<void(answer_maker)>;

struct response {
    unsigned status = 200;
    std::string_view content_type;  // a string literal: every handler names a fixed type
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    route_kind route = route_kind::unmatched;  // for metrics
    bool close = false;                        // close the connection after answering
    // When set, the body is produced piece by piece and sent with chunked
    // transfer encoding: each call appends the next piece to `out` (which
    // may already hold earlier pieces not yet sent). On
    // `failed` the connection is closed without finishing the body. Called
    // on an I/O thread, one call at a time.
    std::function<stream_step(std::string& out, bool may_block)> stream;
    std::optional<long_poll> poll;  // set: wait before answering (see long_poll)
    // The length a HEAD request is told, when the body was not produced.
    std::optional<std::uint64_t> head_length;
    // Set by a handler that ran with request::may_block false and found what
    // it needs on disk only: handle the request again on the blocking pool.
    bool retry_blocking = false;
    // Set by a handler whose answer waits for a write the store completes
    // later without a thread waiting for it (log_store::queues_writes): the
    // session calls it once and answers with what the sink is given. What
    // it captures of the request stays valid until then.
    std::function<void(answer_sink)> deferred;

    void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// The answer of a handler that ran with request::may_block false and found
// what it needs on disk only: handle the request again on the blocking pool.
inline response retry_on_blocking_pool() {
    response r;
    r.retry_blocking = true;
    return r;
}

}  // namespace chunklog::api
