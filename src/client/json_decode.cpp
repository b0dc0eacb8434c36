#include "client/json_decode.hpp"

#include <boost/json/parse.hpp>

#include <optional>
#include <string>

namespace chunklog::detail {
namespace {

std::string quoted(std::string_view key) { return "`" + std::string(key) + "`"; }

outcome<const json::value*> field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return malformed(quoted(key) + " is missing");
    return v;
}

outcome<const json::array*> array_at(const json::object& o, std::string_view key) {
    auto v = field(o, key);
    if (!v) return v.error();
    if (const auto* a = (*v)->if_array()) return a;
    return malformed(quoted(key) + " is not an array");
}

}  // namespace

error malformed(std::string_view what) {
    return make_error(errc::internal, "malformed server response: " + std::string(what));
}

outcome<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return malformed("invalid JSON (" + ec.message() + ")");
    if (auto* o = v.if_object()) return std::move(*o);
    return malformed("not a JSON object");
}

outcome<const json::object*> object_at(const json::object& o, std::string_view key) {
    auto v = field(o, key);
    if (!v) return v.error();
    if (const auto* inner = (*v)->if_object()) return inner;
    return malformed(quoted(key) + " is not an object");
}

outcome<std::string_view> string_at(const json::object& o, std::string_view key) {
    auto v = field(o, key);
    if (!v) return v.error();
    if (const auto* s = (*v)->if_string()) return std::string_view(*s);
    return malformed(quoted(key) + " is not a string");
}

outcome<std::uint64_t> count_at(const json::object& o, std::string_view key) {
    auto v = field(o, key);
    if (!v) return v.error();
    if (const auto* i = (*v)->if_int64(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
    if (const auto* u = (*v)->if_uint64()) return *u;
    return malformed(quoted(key) + " is not an integer >= 0");
}

outcome<bool> bool_at(const json::object& o, std::string_view key) {
    auto v = field(o, key);
    if (!v) return v.error();
    if (const auto* b = (*v)->if_bool()) return *b;
    return malformed(quoted(key) + " is not a boolean");
}

outcome<uuid> uuid_at(const json::object& o, std::string_view key) {
    auto s = string_at(o, key);
    if (!s) return s.error();
    if (auto id = uuid::parse(*s)) return *id;
    return malformed(quoted(key) + " is not a canonical UUID");
}

outcome<std::vector<uuid>> uuids_at(const json::object& o, std::string_view key) {
    auto a = array_at(o, key);
    if (!a) return a.error();
    std::vector<uuid> out;
    out.reserve((*a)->size());
    for (const auto& item : **a) {
        const auto* s = item.if_string();
        auto id = s ? uuid::parse(*s) : std::nullopt;
        if (!id) return malformed(quoted(key) + " holds something other than a canonical UUID");
        out.push_back(*id);
    }
    return out;
}

outcome<std::vector<digest>> digests_at(const json::object& o, std::string_view key) {
    auto a = array_at(o, key);
    if (!a) return a.error();
    std::vector<digest> out;
    out.reserve((*a)->size());
    for (const auto& item : **a) {
        const auto* s = item.if_string();
        auto id = s ? digest::parse(*s) : std::nullopt;
        if (!id) return malformed(quoted(key) + " holds something other than a chunk id");
        out.push_back(*id);
    }
    return out;
}

outcome<head_state> decode_head(const json::object& o) {
    auto head = uuid_at(o, "head");
    if (!head) return head.error();
    auto seq = count_at(o, "seq");
    if (!seq) return seq.error();
    if ((*seq == 0) != head->is_root()) return malformed("HEAD and its seq disagree about ROOT");
    return head_state{*head, *seq};
}

outcome<transaction_record> decode_transaction(const json::object& o) {
    auto id = uuid_at(o, "id");
    if (!id) return id.error();
    auto parent = uuid_at(o, "parent");
    if (!parent) return parent.error();
    auto seq = count_at(o, "seq");
    if (!seq) return seq.error();
    auto chunks = digests_at(o, "chunks");
    if (!chunks) return chunks.error();
    if (id->is_root() || *seq == 0 || *id == *parent) return malformed("an impossible transaction " + id->to_string());
    return transaction_record{*id, *parent, *seq, std::move(*chunks)};
}

outcome<user_summary> decode_summary(const json::object& o) {
    auto head = decode_head(o);
    if (!head) return head.error();
    user_summary s{*head, 0, 0, 0};
    for (auto [key, out] : {std::pair{"transactions", &s.transactions}, {"chunks", &s.chunks}, {"bytes", &s.bytes}}) {
        auto n = count_at(o, key);
        if (!n) return n.error();
        *out = *n;
    }
    return s;
}

outcome<snapshot_position> decode_snapshot_position(const json::object& o) {
    auto transaction = uuid_at(o, "transaction");
    if (!transaction) return transaction.error();
    auto seq = count_at(o, "seq");
    if (!seq) return seq.error();
    if (transaction->is_root() || *seq == 0) return malformed("a snapshot of ROOT");
    return snapshot_position{*transaction, *seq};
}

outcome<snapshot_info> decode_snapshot(const json::object& o) {
    auto position = decode_snapshot_position(o);
    if (!position) return position.error();
    auto chunks = digests_at(o, "chunks");
    if (!chunks) return chunks.error();
    auto created = string_at(o, "created");
    if (!created) return created.error();
    return snapshot_info{*position, std::move(*chunks), std::string(*created)};
}

outcome<token_info> decode_token(const json::object& o, bool with_secret) {
    token_info t;
    for (auto [key, out] : {std::pair{"id", &t.id}, {"label", &t.label}, {"created", &t.created}}) {
        auto text = string_at(o, key);
        if (!text) return text.error();
        *out = *text;
    }
    if (t.id.empty()) return malformed("a token without an id");
    if (with_secret) {
        auto secret = string_at(o, "token");
        if (!secret) return secret.error();
        if (secret->empty()) return malformed("an empty token");
        t.token = *secret;
    }
    auto scope = string_at(o, "scope");
    if (!scope) return scope.error();
    if (*scope == "read") t.scope = token_scope::read;
    else if (*scope == "write") t.scope = token_scope::write;
    else return malformed("`scope` is neither \"read\" nor \"write\"");
    auto expires = field(o, "expires");
    if (!expires) return expires.error();
    if (const auto* s = (*expires)->if_string()) t.expires = std::string(*s);
    else if (!(*expires)->is_null()) return malformed("`expires` is neither a time nor null");
    return t;
}

namespace {

// The one code a status stands for, when it does.
std::optional<errc> code_of_status(unsigned status) {
    switch (status) {
    case 401: return errc::unauthorized;
    case 403: return errc::forbidden;
    case 429: return errc::too_many_requests;
    case 503: return errc::unavailable;
    default: return std::nullopt;
    }
}

}  // namespace

error decode_error(unsigned status, std::string_view body) {
    auto what = "HTTP " + std::to_string(status);
    if (status < 400) return malformed("unexpected " + what);
    auto o = parse_object(body);
    auto code = o ? string_at(*o, "error") : outcome<std::string_view>(o.error());
    if (!code) {
        if (auto named = code_of_status(status))
            return make_error(*named, "the server answered " + what + " (" + std::string(code_name(*named)) + ")");
        return malformed(what + " without a JSON error body");
    }
    auto message = string_at(*o, "message");
    error e = make_error(code_from_name(*code), message ? std::string(*message) : what);
    if (o->contains("head")) {
        auto head = uuid_at(*o, "head");
        if (!head) return head.error();
        e.head = *head;
    }
    if (o->contains("missing")) {
        auto missing = digests_at(*o, "missing");
        if (!missing) return missing.error();
        e.missing = std::move(*missing);
    }
    if (const auto* snapshot = o->if_contains("snapshot"); snapshot && !snapshot->is_null()) {
        const auto* inner = snapshot->if_object();
        if (inner == nullptr) return malformed("`snapshot` is neither an object nor null");
        auto position = decode_snapshot_position(*inner);
        if (!position) return position.error();
        e.snapshot = *position;
    }
    return e;
}

}  // namespace chunklog::detail
