#include <chunklog/base64.hpp>
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include "client/http_transport.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace chunklog {
namespace json = boost::json;
using detail::http_reply;

namespace {

std::pair<std::string, std::string> split_server_url(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || parsed->scheme() != "http" || parsed->host().empty())
        throw std::invalid_argument("server URL must look like http://HOST:PORT, got '" + url + "'");
    return {std::string(parsed->host()), parsed->has_port() ? std::string(parsed->port()) : "80"};
}

// The chunklog error carried by a non-2xx answer.
error error_from(const http_reply& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error"))
        return make_error(errc::internal, "unexpected HTTP " + std::to_string(r.status) + " from the server");
    const auto& o = v.as_object();
    error e = make_error(code_from_name(std::string_view(o.at("error").as_string())),
                         o.contains("message") && o.at("message").is_string()
                             ? std::string(o.at("message").as_string())
                             : std::string{});
    if (auto it = o.find("head"); it != o.end() && it->value().is_string())
        e.head = uuid::parse(it->value().get_string());
    if (auto it = o.find("missing"); it != o.end() && it->value().is_array())
        for (const auto& id : it->value().get_array())
            if (id.is_string())
                if (auto d = digest::parse(id.get_string())) e.missing.push_back(*d);
    return e;
}

outcome<json::object> json_body(const http_reply& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return make_error(errc::internal, "the server sent malformed JSON");
    return std::move(v.as_object());
}

outcome<uuid> uuid_in(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    auto id = it != o.end() && it->value().is_string() ? uuid::parse(it->value().get_string()) : std::nullopt;
    if (!id) return make_error(errc::internal, "the server sent a malformed `" + std::string(key) + "`");
    return *id;
}

outcome<head_state> head_from(const http_reply& r) {
    auto o = json_body(r);
    if (!o) return o.error();
    auto id = uuid_in(*o, "head");
    if (!id) return id.error();
    return head_state{*id, o->at("seq").to_number<std::uint64_t>()};
}

outcome<transaction_record> transaction_from(const json::object& o) {
    auto id = uuid_in(o, "id");
    auto parent = uuid_in(o, "parent");
    if (!id || !parent) return make_error(errc::internal, "the server sent a malformed transaction");
    transaction_record t{*id, *parent, o.at("seq").to_number<std::uint64_t>(), {}};
    for (const auto& c : o.at("chunks").as_array())
        if (auto d = digest::parse(c.as_string())) t.chunks.push_back(*d);
    return t;
}

json::array id_strings(std::span<const digest> ids) {
    json::array out;
    for (const auto& id : ids) out.emplace_back(id.to_string());
    return out;
}

json::object transaction_json(const transaction_record& t) {
    return {{"id", t.id.to_string()}, {"parent", t.parent.to_string()}, {"chunks", id_strings(t.chunks)}};
}

// One page of GET log, parsed line by line.
struct log_page {
    std::unordered_map<digest, std::string, id_hash> chunks;
    std::vector<transaction_record> transactions;
    uuid last;
    bool more = false;
    bool ended = false;
};

outcome<log_page> parse_log_page(const std::string& body) {
    log_page page;
    std::string_view rest = body;
    while (!rest.empty()) {
        auto end = rest.find('\n');
        auto line = rest.substr(0, end);
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (line.empty()) continue;
        // Each line is parsed into a stack buffer (a chunk line is about 1.4
        // times the chunk): no heap allocation per line for small chunks.
        unsigned char scratch[8192];
        json::monotonic_resource memory(scratch, sizeof scratch);
        boost::system::error_code ec;
        auto v = json::parse(line, ec, &memory);
        if (ec || !v.is_object()) return make_error(errc::internal, "malformed log line");
        const auto& o = v.as_object();
        if (auto c = o.find("chunk"); c != o.end()) {
            auto id = digest::parse(c->value().at("id").as_string());
            auto bytes = base64_decode(c->value().at("data").as_string());
            if (!id || !bytes) return make_error(errc::internal, "malformed chunk in log");
            if (sha256_of(*bytes) != *id) return make_error(errc::hash_mismatch, "downloaded chunk does not match its id");
            page.chunks.emplace(*id, std::move(*bytes));
        } else if (auto t = o.find("transaction"); t != o.end()) {
            auto record = transaction_from(t->value().as_object());
            if (!record) return record.error();
            page.transactions.push_back(std::move(*record));
        } else if (auto e = o.find("end"); e != o.end()) {
            auto last = uuid_in(e->value().as_object(), "last");
            if (!last) return last.error();
            page.last = *last;
            page.more = e->value().at("more").as_bool();
            page.ended = true;
        }
    }
    if (!page.ended) return make_error(errc::network, "the log page was cut short");
    return page;
}

}  // namespace

struct client::impl {
    explicit impl(client_options o)
        : options(std::move(o)),
          transport(split_server_url(options.server_url).first, split_server_url(options.server_url).second),
          base("/0.1/" + options.user.to_string()) {}

    client_options options;
    detail::http_transport transport;
    std::string base;
    std::uint64_t requests = 0;

    // Sends a request, retrying after connection failures and 503s.
    outcome<http_reply> call(const char* method, const std::string& target, const std::string& body = {},
                             std::chrono::milliseconds extra_time = {}) {
        auto backoff = options.backoff;
        std::optional<http_reply> last;
        for (unsigned attempt = 0;; ++attempt) {
            ++requests;
            last = transport.request(method, target, body, options.timeout + extra_time);
            if (last && last->status != 503) return std::move(*last);
            if (attempt >= options.retries) break;
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
        }
        if (!last) return make_error(errc::network, "cannot reach " + options.server_url);
        return error_from(*last);
    }

    // A call whose answer must have status `expected`.
    outcome<http_reply> expect(unsigned expected, const char* method, const std::string& target,
                               const std::string& body = {}, std::chrono::milliseconds extra_time = {}) {
        auto r = call(method, target, body, extra_time);
        if (!r) return r.error();
        if (r->status != expected && !(expected == 201 && r->status == 200)) return error_from(*r);
        return r;
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

const client_options& client::options() const { return impl_->options; }
std::uint64_t client::requests_sent() const { return impl_->requests; }

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
    auto h = uuid_in(*o, "head");
    if (!h) return h.error();
    return user_summary{{*h, o->at("seq").to_number<std::uint64_t>()},
                        o->at("transactions").to_number<std::uint64_t>(),
                        o->at("chunks").to_number<std::uint64_t>(),
                        o->at("bytes").to_number<std::uint64_t>()};
}

outcome<std::vector<uuid>> client::list(const uuid& from, std::size_t limit) {
    auto r = impl_->expect(200, "GET",
                           impl_->base + "/transactions?from=" + from.to_string() + "&limit=" + std::to_string(limit));
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    std::vector<uuid> ids;
    for (const auto& v : o->at("transactions").as_array())
        if (auto id = uuid::parse(v.as_string())) ids.push_back(*id);
    return ids;
}

outcome<transaction_record> client::transaction(const uuid& id) {
    auto r = impl_->expect(200, "GET", impl_->base + "/transactions/" + id.to_string());
    if (!r) return r.error();
    auto o = json_body(*r);
    if (!o) return o.error();
    return transaction_from(*o);
}

outcome<digest> client::put_chunk(std::string_view bytes) {
    auto id = sha256_of(bytes);
    auto r = impl_->expect(201, "PUT", impl_->base + "/chunks/" + id.to_string(), std::string(bytes));
    if (!r) return r.error();
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
        for (const auto& v : o->at("missing").as_array())
            if (auto d = digest::parse(v.as_string())) missing.push_back(*d);
    }
    return missing;
}

outcome<void> client::put_transaction(const transaction_record& t) {
    auto r = impl_->expect(201, "PUT", impl_->base + "/transactions/" + t.id.to_string(),
                           json::serialize(transaction_json(t)));
    if (!r) return r.error();
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
        auto page = parse_log_page(r->body);
        if (!page) return page.error();
        for (const auto& t : page->transactions) {
            pulled_transaction pulled{t, {}};
            for (const auto& id : t.chunks) {
                auto it = page->chunks.find(id);
                if (it == page->chunks.end()) return make_error(errc::internal, "log page lacks a chunk it references");
                pulled.chunks.emplace_back(it->second);
            }
            if (auto done = on_transaction(pulled); !done) return done.error();
            position = t.id;
        }
        if (!page->more) return position;
        position = page->last;
    }
}

outcome<head_state> client::publish(const publish_batch& batch) {
    std::vector<digest> ids;
    ids.reserve(batch.chunks.size());
    for (const auto& bytes : batch.chunks) ids.push_back(sha256_of(bytes));
    auto missing = missing_chunks(ids);
    if (!missing) return missing.error();
    std::unordered_map<digest, bool, id_hash> wanted;
    for (const auto& id : *missing) wanted[id] = true;

    json::array chunks;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (auto it = wanted.find(ids[i]); it != wanted.end() && it->second) {
            chunks.push_back(json::object{{"id", ids[i].to_string()}, {"data", base64_encode(batch.chunks[i])}});
            it->second = false;  // once per request
        }
    json::array transactions;
    for (const auto& t : batch.transactions) transactions.push_back(transaction_json(t));
    json::object body{{"chunks", std::move(chunks)}, {"transactions", std::move(transactions)}};
    if (batch.head) body["head"] = batch.head->to_string();

    auto r = impl_->expect(200, "POST", impl_->base + "/publish", json::serialize(body));
    if (!r) return r.error();
    return head_from(*r);
}

}  // namespace chunklog
