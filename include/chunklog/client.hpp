// chunklog::client: talks to one chunklogd for one user over HTTP/1.1, or
// over HTTPS (TLS 1.2 or 1.3) when the server URL starts with https://.
//
// It keeps one connection alive between calls, bounds every request with a
// timeout and every response with a size limit, verifies the SHA-256 of
// every chunk it downloads, and reports every failure as a chunklog::error
// value (a conflict carries the current HEAD): a server answer of the wrong
// shape is errc::internal "malformed server response: ...", never a throw
// and never partial data.
//
// Authentication (protocol section 7): a non-empty options.token is sent as
// `Authorization: Bearer TOKEN` on every request. The server answers
// errc::unauthorized (401: no, unknown, expired or revoked token),
// errc::forbidden (403: another user's token, a read token on a write),
// errc::quota_exceeded or errc::insufficient_storage (507).
//
// TLS: the server's certificate must verify against the system's CA store
// plus options.ca_file, and must name the URL's host (DNS name or IP
// address; the name is also sent as SNI). A handshake that fails is
// errc::tls_failure, never retried.
//
// Retries (with doubling backoff) after a connection failure or a 503. A
// re-sent GET, PUT or POST cannot remove or change anything stored: the
// server takes a re-sent chunk, transaction or publish as already done, and
// a re-sent HEAD advance at worst reports a conflict. A re-sent DELETE could
// remove what another client stored after the first one, and a re-sent
// POST tokens would make a second token, so these two are sent again only
// when no connection could be made at all, and always go on a fresh
// connection. A 429 (too_many_requests: the server refused the request
// without acting on it) is sent again, whatever the method, after the
// `Retry-After` seconds it names (the backoff when it names none), within
// the same number of retries and while the waits of one call stay within
// options.max_rate_limit_wait; then the call returns errc::too_many_requests.
//
// Snapshots (protocol section 8): put_snapshot and get_snapshot write and
// read the user's snapshot; pull_with_snapshot starts a pull from it;
// last_snapshot_urgency() tells whether the server asked for a new one in
// its answer to the last publish or advance_head. A pull whose `from` fell
// into history the server truncated (section 9) fails with
// errc::history_truncated, error().snapshot naming the snapshot to start
// from again.
//
// A client is not thread-safe: use one per thread. Calls block.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog {

struct client_options {
    std::string server_url = "http://127.0.0.1:8080";  // http://HOST[:PORT] or https://HOST[:PORT]
    uuid user;
    // Sent as `Authorization: Bearer TOKEN` when not empty: printable ASCII
    // without spaces, at most 4096 characters.
    std::string token;
    // A PEM file of CA certificates trusted for https besides the system's
    // store (a private CA, a self-signed server). Ignored for http.
    std::string ca_file;
    std::chrono::milliseconds timeout{30'000};  // per request; a long poll adds its wait
    unsigned retries = 4;                       // after a connection failure, a 503 or a 429
    std::chrono::milliseconds backoff{100};     // before the first retry, doubled after each
    // The longest one call waits in all for the Retry-After of 429 answers;
    // a 429 whose wait would go past it is returned at once.
    std::chrono::seconds max_rate_limit_wait{60};
    // The largest response body accepted; a larger one is errc::internal
    // "response too large" (read up to this size, then the connection is closed).
    std::uint64_t max_response_bytes = 256ull << 20;
};

// What one publish sends: chunk bytes (ids are computed), transactions
// parent-first (seq is ignored), and optionally the HEAD to advance to.
struct publish_batch {
    std::vector<std::string> chunks;
    std::vector<transaction_record> transactions;
    std::optional<uuid> head;
};

// A transaction handed to pull()'s callback with the bytes of its chunks
// (in the order of record.chunks), valid only during the callback.
struct pulled_transaction {
    transaction_record record;
    std::vector<std::string_view> chunks;
    // Set on a user's first TaskChampion version sent after another server's
    // chain (protocol section 12): the parent it was sealed with.
    std::optional<uuid> origin_parent;
};

using pull_callback = std::function<outcome<void>(const pulled_transaction&)>;

// How much the server wants a new snapshot: the Snapshot-Urgency header of
// its 2xx answers to POST publish and PUT head (none when absent). `low`:
// write one when there is nothing else to do; `high`: write one now.
enum class snapshot_urgency { none, low, high };

std::string_view urgency_name(snapshot_urgency u) noexcept;  // "none", "low", "high"

// The user's snapshot as GET /0.1/{user}/snapshot describes it.
struct snapshot_info {
    snapshot_position position;  // the committed transaction whose state it holds, and its seq
    std::vector<digest> chunks;  // in order
    std::string created;         // RFC 3339 UTC, as the server wrote it
};

// What put_snapshot did. `in_force` is the user's snapshot after the call:
// the one sent when `created` (201), else the one the server already had at
// the same seq or later and kept (200).
struct snapshot_written {
    snapshot_position in_force;
    bool created = false;
};

// The snapshot pull_with_snapshot hands over before the transactions after
// it, with the bytes of its chunks (in order), valid only during the callback.
struct pulled_snapshot {
    snapshot_position position;
    std::vector<std::string_view> chunks;
};

using snapshot_callback = std::function<outcome<void>(const pulled_snapshot&)>;

// What a token may do: read (GET, and POST chunks/missing) or everything
// for its user.
enum class token_scope { read, write };

std::string_view scope_name(token_scope s) noexcept;  // "read", "write"

// A bearer token as the server describes it (protocol section 7). Times are
// RFC 3339 UTC text, as the server wrote them.
struct token_info {
    std::string id;      // the token's public name, for revoke_token
    std::string token;   // the secret itself: only in create_token's answer, empty in list_tokens
    std::string label;
    token_scope scope = token_scope::write;
    std::string created;
    std::optional<std::string> expires;  // nullopt: never
};

class client {
public:
    // Fails (throws std::invalid_argument) only on a malformed server URL,
    // a malformed token, or (for https) a ca_file that cannot be loaded.
    explicit client(client_options options);
    ~client();
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;

    const client_options& options() const;

    outcome<head_state> head();
    // Long poll: returns when HEAD differs from `known`, or after `wait` (1-60 s).
    outcome<head_state> wait_head(const uuid& known, std::chrono::seconds wait);
    outcome<user_summary> info();
    outcome<std::vector<uuid>> list(const uuid& from = root_id, std::size_t limit = 1000);
    outcome<transaction_record> transaction(const uuid& id);

    outcome<digest> put_chunk(std::string_view bytes);
    outcome<std::string> get_chunk(const digest& id);  // hash_mismatch if the bytes are wrong
    outcome<std::vector<digest>> missing_chunks(std::span<const digest> ids);
    outcome<void> put_transaction(const transaction_record& t);
    outcome<void> advance_head(const uuid& target);
    outcome<void> delete_user();

    // Pages through GET log from `from`, calling on_transaction for every
    // committed transaction in order. Returns the last transaction handed
    // over (or `from`). A callback error stops the pull and is returned.
    // Each page is checked whole before its first transaction is handed over;
    // a chunk's bytes are decoded and verified when its transaction is.
    // Memory: one page as the server sends it (the server bounds a page, and
    // max_response_bytes bounds what the client accepts), plus the decoded
    // chunks of one transaction. errc::history_truncated (error().snapshot
    // set) when `from` fell into truncated history: pull_with_snapshot then.
    outcome<uuid> pull(const uuid& from, const pull_callback& on_transaction, std::size_t page_size = 100);

    // pull() with GET log?snapshot=1 on its first page: when the user's
    // snapshot is later than `from`, or `from` fell into truncated history,
    // on_snapshot gets the snapshot (position and chunk bytes, verified)
    // first, then on_transaction the transactions after it, all in one pass;
    // otherwise it is pull(). Returns the last transaction handed over (the
    // snapshot's when no transaction follows it), or `from`. Memory: as
    // pull(), plus the snapshot's decoded chunks during on_snapshot.
    outcome<uuid> pull_with_snapshot(const uuid& from, const snapshot_callback& on_snapshot,
                                     const pull_callback& on_transaction, std::size_t page_size = 100);

    // Uploads the chunks the server lacks and publishes everything with the
    // HEAD advance in one POST publish. On errc::conflict nothing was stored
    // and error().head is the current HEAD: pull, rebase, publish again.
    outcome<head_state> publish(const publish_batch& batch);

    // The Snapshot-Urgency of the answer to the last publish() or
    // advance_head() call: none before any such call, after one that failed,
    // or when the answer had no such header (or a value this version does not
    // know).
    snapshot_urgency last_snapshot_urgency() const;

    // Makes `chunks` (bytes; ids are computed) the user's snapshot of the
    // state after the committed transaction `transaction` (PUT
    // snapshots/{id}). When the server lacks some of the chunks (404
    // missing_chunks) it uploads just those, then sends the snapshot again.
    // A server that already has a snapshot at this seq or later keeps it
    // (created false); chunklogd says so before looking at the chunks, so
    // nothing is uploaded then. not_found: `transaction` is not committed.
    outcome<snapshot_written> put_snapshot(const uuid& transaction, std::span<const std::string> chunks);
    // The user's snapshot (GET snapshot); not_found when it has none. Its
    // chunks are read with get_chunk.
    outcome<snapshot_info> get_snapshot();

    // Tokens of the user (POST, GET, DELETE /0.1/{user}/tokens). Creating
    // one needs the admin token or a write token of the user, or no token at
    // all when the server's registration is open and the user has none yet
    // (the first token claims the user id). expires_in: none means never.
    outcome<token_info> create_token(std::string_view label = {}, token_scope scope = token_scope::write,
                                     std::optional<std::chrono::seconds> expires_in = std::nullopt);
    outcome<std::vector<token_info>> list_tokens();  // in creation order, without secrets
    outcome<void> revoke_token(std::string_view id);  // not_found for an unknown id

    // The user's own quota of stored chunk bytes (PUT /0.1/{user}/quota,
    // admin token only): 0 is no limit, nullopt is the server's default.
    outcome<void> set_quota(std::optional<std::uint64_t> bytes);

    // Requests sent so far (retries included), for measurements; the one
    // member that may be called from another thread while a call runs.
    std::uint64_t requests_sent() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog
