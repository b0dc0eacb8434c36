#include <chunklog/base64.hpp>
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include "client/http_transport.hpp"
#include "client/json_decode.hpp"
#include "client/log_page.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace chunklog {
namespace json = boost::json;
using detail::http_reply;
using detail::malformed;

namespace {

constexpr std::size_t max_token_chars = 4096;

// The transport's settings from the client's: the URL's host and port,
// https or not, and the Authorization header.
detail::transport_options transport_options_of(const client_options& o) {
    auto parsed = boost::urls::parse_uri(o.server_url);
    const bool tls = parsed && parsed->scheme() == "https";
    if (!parsed || (!tls && parsed->scheme() != "http") || parsed->host_address().empty())
        throw std::invalid_argument("server URL must look like http://HOST:PORT or https://HOST:PORT, got '" +
                                    o.server_url + "'");
    const bool printable = std::all_of(o.token.begin(), o.token.end(), [](char c) { return c > ' ' && c < 0x7f; });
    if (!printable || o.token.size() > max_token_chars)
        throw std::invalid_argument("a token is printable ASCII without spaces, at most 4096 characters");
    detail::transport_options t;
    t.host = parsed->host_address();
    t.port = parsed->has_port() ? std::string(parsed->port()) : tls ? "443" : "80";
    t.tls = tls;
    t.ca_file = o.ca_file;
    if (!o.token.empty()) t.authorization = "Bearer " + o.token;
    t.max_body_bytes = o.max_response_bytes;
    return t;
}

// The JSON object of a successful answer.
outcome<json::object> json_body(const http_reply& r) { return detail::parse_object(r.body); }

outcome<head_state> head_from(const http_reply& r) {
    auto o = json_body(r);
    if (!o) return o.error();
    return detail::decode_head(*o);
}

json::array id_strings(std::span<const digest> ids) {
    json::array out;
    for (const auto& id : ids) out.emplace_back(id.to_string());
    return out;
}

json::object transaction_json(const transaction_record& t) {
    return {{"id", t.id.to_string()}, {"parent", t.parent.to_string()}, {"chunks", id_strings(t.chunks)}};
}

error transport_failure(const client_options& o, const detail::transport_failure& f) {
    switch (f.kind) {
    case detail::transport_error::unreachable: return make_error(errc::network, "cannot reach " + o.server_url);
    case detail::transport_error::broken: return make_error(errc::network, "the connection to " + o.server_url + " broke");
    case detail::transport_error::tls: return make_error(errc::tls_failure, f.detail);
    case detail::transport_error::too_large: break;
    }
    return make_error(errc::internal,
                      "response too large (over max_response_bytes, " + std::to_string(o.max_response_bytes) + ")");
}

// Retry-After as delta-seconds; nullopt when absent or an HTTP date.
std::optional<std::chrono::seconds> retry_after(std::string_view text) {
    std::uint32_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return std::chrono::seconds(seconds);
}

// A path segment holding `text`, percent-encoded where needed.
std::string path_segment(std::string_view text) { return boost::urls::encode(text, boost::urls::unreserved_chars); }

}  // namespace

std::string_view scope_name(token_scope s) noexcept { return s == token_scope::read ? "read" : "write"; }

std::string_view urgency_name(snapshot_urgency u) noexcept {
    switch (u) {
    case snapshot_urgency::low: return "low";
    case snapshot_urgency::high: return "high";
    case snapshot_urgency::none: break;
    }
    return "none";
}

namespace {

snapshot_urgency urgency_of(std::string_view header) {
    if (header == "high") return snapshot_urgency::high;
    if (header == "low") return snapshot_urgency::low;
    return snapshot_urgency::none;
}

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)), transport(transport_options_of(options)), base("/0.1/" + options.user.to_string()) {}

    client_options options;
    detail::http_transport transport;
    std::string base;
    std::atomic<std::uint64_t> requests{0};  // read by requests_sent() from any thread
    snapshot_urgency urgency = snapshot_urgency::none;  // of the last publish or advance_head

    // Sends a request, retrying after connection failures, 503s and 429s
    // as far as the request and the options allow (see client.hpp). A
    // DELETE, or a request marked once, is sent again only when it cannot
    // have reached the server.
    outcome<http_reply> call(const char* method, const std::string& target, const std::string& body = {},
                             std::chrono::milliseconds extra_time = {}, bool once = false) {
        const bool resend = !once && std::string_view(method) != "DELETE";
        const auto use = resend ? detail::connection_use::reuse : detail::connection_use::fresh;
        auto backoff = options.backoff;
        std::chrono::milliseconds rate_limited{0};  // waited so far for 429s
        for (unsigned attempt = 0;; ++attempt) {
            ++requests;
            auto result = transport.request(method, target, body, options.timeout + extra_time, use);
            const bool last = attempt >= options.retries;
            if (auto* reply = std::get_if<http_reply>(&result)) {
                if (reply->status == 429) {  // refused unread: safe to send again, DELETE included
                    auto named = retry_after(reply->retry_after);
                    std::chrono::milliseconds wait = named ? std::chrono::milliseconds(*named) : backoff;
                    if (last || rate_limited + wait > options.max_rate_limit_wait)
                        return detail::decode_error(reply->status, reply->body);
                    std::this_thread::sleep_for(wait);
                    rate_limited += wait;
                    backoff *= 2;
                    continue;
                }
                if (reply->status != 503) return std::move(*reply);
                if (last || !resend) return detail::decode_error(reply->status, reply->body);
            } else {
                const auto& failure = std::get<detail::transport_failure>(result);
                bool again = failure.kind == detail::transport_error::unreachable ||
                             (resend && failure.kind == detail::transport_error::broken);
                if (last || !again) return transport_failure(options, failure);
            }
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
        }
    }

    // A call whose answer must have status `expected` (201 also accepts 200).
    outcome<http_reply> expect(unsigned expected, const char* method, const std::string& target,
                               const std::string& body = {}, std::chrono::milliseconds extra_time = {},
                               bool once = false) {
        auto r = call(method, target, body, extra_time, once);
        if (!r) return r.error();
        if (r->status != expected && !(expected == 201 && r->status == 200))
            return detail::decode_error(r->status, r->body);
        return r;
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

const client_options& client::options() const { return impl_->options; }
std::uint64_t client::requests_sent() const { return impl_->requests.load(std::memory_order_relaxed); }

outcome<head_state> client::head() {
    auto r = impl_->expect(200, "GET", impl_->base + "/head");
    if (!r) return r.error();
    return head_from(*r);
}

outcome<head_state> client::wait_head(const uuid& known, std::chrono::seconds wait) {
    auto target = impl_->base + "/head?wait=" + std::to_string(wait.count()) + "&known=" + known.to_string();
    auto r = impl_->expect(200, "GET", target, {}, wait);
    if (!r) return r.error();
    return head_from(*r);
}

outcome<user_summary> client::info() {
    auto r = impl_->expect(200, "GET", impl_->base);
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    return detail::decode_summary(*o);
}

outcome<std::vector<uuid>> client::list(const uuid& from, std::size_t limit) {
    auto r = impl_->expect(200, "GET",
                           impl_->base + "/transactions?from=" + from.to_string() + "&limit=" + std::to_string(limit));
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    return detail::uuids_at(*o, "transactions");
}

outcome<transaction_record> client::transaction(const uuid& id) {
    auto r = impl_->expect(200, "GET", impl_->base + "/transactions/" + id.to_string());
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    auto t = detail::decode_transaction(*o);
    if (t && t->id != id) return malformed("asked for transaction " + id.to_string() + ", got " + t->id.to_string());
    return t;
}

outcome<digest> client::put_chunk(std::string_view bytes) {
    auto id = sha256_of(bytes);
    auto r = impl_->expect(201, "PUT", impl_->base + "/chunks/" + id.to_string(), std::string(bytes));
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    auto stored = detail::string_at(*o, "id");
    if (!stored) return stored.error();
    if (*stored != id.to_string()) return malformed("the server stored chunk " + std::string(*stored));
    return id;
}

outcome<std::string> client::get_chunk(const digest& id) {
    auto r = impl_->expect(200, "GET", impl_->base + "/chunks/" + id.to_string());
    if (!r) return r.error();
    if (sha256_of(r->body) != id) return make_error(errc::hash_mismatch, "downloaded chunk does not match its id");
    return std::move(r->body);
}

outcome<std::vector<digest>> client::missing_chunks(std::span<const digest> ids) {
    constexpr std::size_t per_request = 10'000;
    std::vector<digest> missing;
    for (std::size_t i = 0; i < ids.size(); i += per_request) {
        auto part = ids.subspan(i, std::min(per_request, ids.size() - i));
        auto r = impl_->expect(200, "POST", impl_->base + "/chunks/missing",
                               json::serialize(json::object{{"chunks", id_strings(part)}}));
        if (!r) return r.error();
        auto o = json_body(*r);
        if (!o) return o.error();
        auto answer = detail::digests_at(*o, "missing");
        if (!answer) return answer.error();
        std::unordered_set<digest, id_hash> asked(part.begin(), part.end());
        for (const auto& id : *answer)
            if (!asked.contains(id)) return malformed("chunk " + id.to_string() + " is missing but was not asked for");
        missing.insert(missing.end(), answer->begin(), answer->end());
    }
    return missing;
}

outcome<void> client::put_transaction(const transaction_record& t) {
    auto r = impl_->expect(201, "PUT", impl_->base + "/transactions/" + t.id.to_string(),
                           json::serialize(transaction_json(t)));
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    auto stored = detail::decode_transaction(*o);
    if (!stored) return stored.error();
    if (stored->id != t.id || stored->parent != t.parent || stored->chunks != t.chunks)
        return malformed("the server stored another transaction than " + t.id.to_string());
    return {};
}

outcome<void> client::advance_head(const uuid& target) {
    impl_->urgency = snapshot_urgency::none;
    auto r = impl_->expect(204, "PUT", impl_->base + "/head",
                           json::serialize(json::object{{"head", target.to_string()}}));
    if (!r) return r.error();
    impl_->urgency = urgency_of(r->snapshot_urgency);
    return {};
}

outcome<void> client::delete_user() {
    auto r = impl_->expect(204, "DELETE", impl_->base);
    if (!r) return r.error();
    return {};
}

outcome<uuid> client::pull(const uuid& from, const pull_callback& on_transaction, std::size_t page_size) {
    return pull_with_snapshot(from, nullptr, on_transaction, page_size);
}

outcome<uuid> client::pull_with_snapshot(const uuid& from, const snapshot_callback& on_snapshot,
                                         const pull_callback& on_transaction, std::size_t page_size) {
    uuid position = from;
    // Only the first page may start with the snapshot: the next ones start
    // after a transaction this pull handed over, which is later.
    bool with_snapshot = static_cast<bool>(on_snapshot);
    for (;;) {
        auto r = impl_->expect(200, "GET", impl_->base + "/log?from=" + position.to_string() +
                                               "&limit=" + std::to_string(page_size) +
                                               (with_snapshot ? "&snapshot=1" : ""));
        if (!r) return r.error();
        auto page = detail::log_page::parse(std::move(r->body), position, with_snapshot);
        if (!page) return page.error();
        with_snapshot = false;
        if (const auto& snapshot = page->snapshot()) {
            auto chunks = page->snapshot_bytes();
            if (!chunks) return chunks.error();
            if (auto done = on_snapshot({*snapshot, std::move(*chunks)}); !done) return done.error();
            position = snapshot->transaction;
        }
        for (std::size_t i = 0; i < page->transactions().size(); ++i) {
            auto chunks = page->chunk_bytes(i);
            if (!chunks) return chunks.error();
            const auto& record = page->transactions()[i];
            if (auto done = on_transaction({record, std::move(*chunks), page->origin_parent(i)}); !done)
                return done.error();
            position = record.id;
        }
        if (!page->more()) return position;
    }
}

outcome<token_info> client::create_token(std::string_view label, token_scope scope,
                                         std::optional<std::chrono::seconds> expires_in) {
    json::object body{{"label", label}, {"scope", scope_name(scope)}};
    if (expires_in) body["expires_in"] = expires_in->count();
    // Once: a second POST would make a second token (or, for a claim, find
    // the user claimed by the first).
    auto r = impl_->expect(201, "POST", impl_->base + "/tokens", json::serialize(body), {}, true);
    if (!r) return r.error();
    if (r->status != 201) return malformed("HTTP " + std::to_string(r->status) + " to a new token");
    auto o = json_body(*r);
    if (!o) return o.error();
    return detail::decode_token(*o, true);
}

outcome<std::vector<token_info>> client::list_tokens() {
    auto r = impl_->expect(200, "GET", impl_->base + "/tokens");
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    const auto* tokens = o->if_contains("tokens");
    if (tokens == nullptr || !tokens->is_array()) return malformed("`tokens` is not an array");
    std::vector<token_info> out;
    for (const auto& item : tokens->get_array()) {
        if (!item.is_object()) return malformed("`tokens` holds something other than an object");
        auto t = detail::decode_token(item.get_object(), false);
        if (!t) return t.error();
        out.push_back(std::move(*t));
    }
    return out;
}

outcome<void> client::revoke_token(std::string_view id) {
    if (id.empty()) return make_error(errc::bad_request, "a token id cannot be empty");
    auto r = impl_->expect(204, "DELETE", impl_->base + "/tokens/" + path_segment(id));
    if (!r) return r.error();
    return {};
}

outcome<void> client::set_quota(std::optional<std::uint64_t> bytes) {
    json::object body{{"bytes", bytes ? json::value(*bytes) : json::value(nullptr)}};
    auto r = impl_->expect(204, "PUT", impl_->base + "/quota", json::serialize(body));
    if (!r) return r.error();
    return {};
}

snapshot_urgency client::last_snapshot_urgency() const { return impl_->urgency; }

outcome<snapshot_written> client::put_snapshot(const uuid& transaction, std::span<const std::string> chunks) {
    std::vector<digest> ids;
    ids.reserve(chunks.size());
    for (const auto& bytes : chunks) ids.push_back(sha256_of(bytes));
    const auto body = json::serialize(json::object{{"chunks", id_strings(ids)}});
    const auto target = impl_->base + "/snapshots/" + transaction.to_string();
    // Sent first without uploading: the server may keep a snapshot it has,
    // or have every chunk already. A second missing_chunks answer can only
    // come from chunks collected in between; a third try is the last.
    for (int attempt = 0;; ++attempt) {
        auto r = impl_->expect(201, "PUT", target, body);
        if (!r) {
            error e = r.error();
            if (e.code != errc::missing_chunks || attempt == 2) return e;
            std::unordered_set<digest, id_hash> wanted(ids.begin(), ids.end());
            for (const auto& id : e.missing)
                if (!wanted.contains(id))
                    return malformed("chunk " + id.to_string() + " is missing but is not in the snapshot");
            std::unordered_set<digest, id_hash> missing(e.missing.begin(), e.missing.end());
            for (std::size_t i = 0; i < ids.size(); ++i)
                if (missing.erase(ids[i]) > 0)
                    if (auto put = put_chunk(chunks[i]); !put) return put.error();
            continue;
        }
        auto o = json_body(*r);
        if (!o) return o.error();
        auto in_force = detail::decode_snapshot_position(*o);
        if (!in_force) return in_force.error();
        const bool created = r->status == 201;
        if (created && in_force->transaction != transaction)
            return malformed("the server made snapshot " + in_force->transaction.to_string() + " of " +
                             transaction.to_string());
        return snapshot_written{*in_force, created};
    }
}

outcome<snapshot_info> client::get_snapshot() {
    auto r = impl_->expect(200, "GET", impl_->base + "/snapshot");
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    return detail::decode_snapshot(*o);
}

outcome<head_state> client::publish(const publish_batch& batch) {
    impl_->urgency = snapshot_urgency::none;
    std::vector<digest> ids;
    ids.reserve(batch.chunks.size());
    for (const auto& bytes : batch.chunks) ids.push_back(sha256_of(bytes));
    auto missing = missing_chunks(ids);
    if (!missing) return missing.error();
    std::unordered_set<digest, id_hash> wanted(missing->begin(), missing->end());

    json::array chunks;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (wanted.erase(ids[i]) > 0)  // once per request
            chunks.push_back(json::object{{"id", ids[i].to_string()}, {"data", base64_encode(batch.chunks[i])}});
    json::array transactions;
    for (const auto& t : batch.transactions) transactions.push_back(transaction_json(t));
    json::object body{{"chunks", std::move(chunks)}, {"transactions", std::move(transactions)}};
    if (batch.head) body["head"] = batch.head->to_string();

    auto r = impl_->expect(200, "POST", impl_->base + "/publish", json::serialize(body));
    if (!r) return r.error();
    auto head = head_from(*r);
    if (head) impl_->urgency = urgency_of(r->snapshot_urgency);
    return head;
}

}  // namespace chunklog
