#include <chunklog/base64.hpp>
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include "client/http_transport.hpp"
#include "client/json_decode.hpp"
#include "client/log_page.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace chunklog {
namespace json = boost::json;
using detail::http_reply;
using detail::malformed;

namespace {

std::pair<std::string, std::string> split_server_url(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || parsed->scheme() != "http" || parsed->host().empty())
        throw std::invalid_argument("server URL must look like http://HOST:PORT, got '" + url + "'");
    return {std::string(parsed->host()), parsed->has_port() ? std::string(parsed->port()) : "80"};
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

error transport_failure(const client_options& o, detail::transport_error e) {
    switch (e) {
    case detail::transport_error::unreachable: return make_error(errc::network, "cannot reach " + o.server_url);
    case detail::transport_error::broken: return make_error(errc::network, "the connection to " + o.server_url + " broke");
    case detail::transport_error::too_large: break;
    }
    return make_error(errc::internal,
                      "response too large (over max_response_bytes, " + std::to_string(o.max_response_bytes) + ")");
}

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)),
          transport(split_server_url(options.server_url).first, split_server_url(options.server_url).second,
                    options.max_response_bytes),
          base("/0.1/" + options.user.to_string()) {}

    client_options options;
    detail::http_transport transport;
    std::string base;
    std::atomic<std::uint64_t> requests{0};  // read by requests_sent() from any thread

    // Sends a request, retrying after connection failures and 503s as far
    // as the method allows (see client.hpp).
    outcome<http_reply> call(const char* method, const std::string& target, const std::string& body = {},
                             std::chrono::milliseconds extra_time = {}) {
        const bool resend = std::string_view(method) != "DELETE";
        const auto use = resend ? detail::connection_use::reuse : detail::connection_use::fresh;
        auto backoff = options.backoff;
        for (unsigned attempt = 0;; ++attempt) {
            ++requests;
            auto result = transport.request(method, target, body, options.timeout + extra_time, use);
            const bool last = attempt >= options.retries;
            if (auto* reply = std::get_if<http_reply>(&result)) {
                if (reply->status != 503) return std::move(*reply);
                if (last || !resend) return detail::decode_error(reply->status, reply->body);
            } else {
                auto failure = std::get<detail::transport_error>(result);
                bool again = failure == detail::transport_error::unreachable ||
                             (resend && failure == detail::transport_error::broken);
                if (last || !again) return transport_failure(options, failure);
            }
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
        }
    }

    // A call whose answer must have status `expected` (201 also accepts 200).
    outcome<http_reply> expect(unsigned expected, const char* method, const std::string& target,
                               const std::string& body = {}, std::chrono::milliseconds extra_time = {}) {
        auto r = call(method, target, body, extra_time);
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
    auto r = impl_->expect(204, "PUT", impl_->base + "/head",
                           json::serialize(json::object{{"head", target.to_string()}}));
    if (!r) return r.error();
    return {};
}

outcome<void> client::delete_user() {
    auto r = impl_->expect(204, "DELETE", impl_->base);
    if (!r) return r.error();
    return {};
}

outcome<uuid> client::pull(const uuid& from, const pull_callback& on_transaction, std::size_t page_size) {
    uuid position = from;
    for (;;) {
        auto r = impl_->expect(200, "GET", impl_->base + "/log?from=" + position.to_string() +
                                               "&limit=" + std::to_string(page_size));
        if (!r) return r.error();
        auto page = detail::log_page::parse(std::move(r->body), position);
        if (!page) return page.error();
        for (std::size_t i = 0; i < page->transactions().size(); ++i) {
            auto chunks = page->chunk_bytes(i);
            if (!chunks) return chunks.error();
            const auto& record = page->transactions()[i];
            if (auto done = on_transaction({record, std::move(*chunks)}); !done) return done.error();
            position = record.id;
        }
        if (!page->more()) return position;
    }
}

outcome<head_state> client::publish(const publish_batch& batch) {
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
    return head_from(*r);
}

}  // namespace chunklog
