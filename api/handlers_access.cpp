// Handlers of the access endpoints: device tokens (protocol section 7),
// quotas (section 10) and the admin's user listing (section 11). Who may
// call them was settled by access_control before the body was read.
#include "api/error_response.hpp"
#include "api/handlers.hpp"
#include "api/json_codec.hpp"
#include "api/token_secret.hpp"

#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

namespace chunklog::api {
namespace {

constexpr std::size_t max_label_chars = 100;
constexpr std::size_t default_user_page = 100;
constexpr std::size_t max_user_page = 1000;

struct token_request {
    std::string label;
    storage::token_scope scope = storage::token_scope::write;
    std::optional<std::int64_t> expires_in;
};

std::size_t utf8_chars(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

outcome<token_request> parse_token_request(std::string_view body) {
    token_request out;
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;  // no body: every default
    auto o = json::parse_object(body);
    if (!o) return o.error();
    if (auto* label = o->if_contains("label"); label && !label->is_null()) {
        if (!label->is_string()) return make_error(errc::bad_request, "`label` must be a string");
        out.label = label->get_string();
        if (utf8_chars(out.label) > max_label_chars)
            return make_error(errc::bad_request, "`label` is longer than 100 characters");
    }
    if (auto* scope = o->if_contains("scope"); scope && !scope->is_null()) {
        if (scope->is_string() && scope->get_string() == "read") out.scope = storage::token_scope::read;
        else if (!scope->is_string() || scope->get_string() != "write")
            return make_error(errc::bad_request, "`scope` must be \"read\" or \"write\"");
    }
    if (auto* expires = o->if_contains("expires_in"); expires && !expires->is_null()) {
        auto seconds = expires->is_int64() ? expires->get_int64() : expires->is_uint64() ? -1 : 0;
        if (seconds < 1 || seconds > (std::int64_t{100} * 365 * 86400))
            return make_error(errc::bad_request, "`expires_in` must be a whole number of seconds from 1 to 100 years");
        out.expires_in = seconds;
    }
    return out;
}

boost::json::object token_object(const storage::token_record& t) {
    boost::json::value expires = nullptr;
    if (t.expires) expires = rfc3339(*t.expires);
    return {{"id", t.id},
            {"label", t.label},
            {"scope", t.scope == storage::token_scope::read ? "read" : "write"},
            {"created", rfc3339(t.created)},
            {"expires", expires}};
}

response create_token(handler_context& ctx, const uuid& user, const request& req) {
    auto wanted = parse_token_request(req.body);
    if (!wanted) return error_response(wanted.error());
    storage::token_record record;
    record.id = new_token_id();
    record.user = user;
    record.scope = wanted->scope;
    record.label = wanted->label;
    record.created = unix_now();
    if (wanted->expires_in) record.expires = record.created + *wanted->expires_in;
    auto secret = new_token_secret();
    bool claim = !req.caller;
    auto stored = ctx.store.create_token(sha256_of(secret), record, claim);
    if (!stored && claim && stored.error().code == errc::forbidden)
        return *ctx.access.refuse_unauthenticated(req, "this user already has tokens: creating another needs one");
    if (!stored) return error_response(stored.error());
    auto body = token_object(record);
    body["token"] = secret;
    return json_response(201, body);
}

response list_tokens(handler_context& ctx, const uuid& user) {
    auto tokens = ctx.store.list_tokens(user);
    if (!tokens) return error_response(tokens.error());
    boost::json::array out;
    for (const auto& t : *tokens) out.emplace_back(token_object(t));
    return json_response(200, {{"tokens", std::move(out)}});
}

outcome<std::optional<std::uint64_t>> parse_quota(std::string_view body) {
    auto o = json::parse_object(body);
    if (!o) return o.error();
    auto* bytes = o->if_contains("bytes");
    if (bytes == nullptr) return make_error(errc::bad_request, "`bytes` is required (a number, or null)");
    if (bytes->is_null()) return std::optional<std::uint64_t>{};
    if (bytes->is_uint64()) return std::optional<std::uint64_t>{bytes->get_uint64()};
    if (bytes->is_int64() && bytes->get_int64() >= 0)
        return std::optional<std::uint64_t>{static_cast<std::uint64_t>(bytes->get_int64())};
    return make_error(errc::bad_request, "`bytes` must be a whole number of bytes (0: no limit) or null");
}

}  // namespace

response handle_tokens(handler_context& ctx, const uuid& user, const request& req) {
    if (req.method == http_method::post) return create_token(ctx, user, req);
    return list_tokens(ctx, user);
}

response handle_token(handler_context& ctx, const uuid& user, const route_match& m) {
    auto revoked = ctx.store.revoke_token(user, m.id);
    if (!revoked) return error_response(revoked.error());
    ctx.access.forget_token(*revoked);
    return no_content();
}

response handle_quota(handler_context& ctx, const uuid& user, const request& req) {
    auto bytes = parse_quota(req.body);
    if (!bytes) return error_response(bytes.error());
    auto done = ctx.store.set_quota(user, *bytes);
    if (!done) return error_response(done.error());
    return no_content();
}

response handle_admin_users(handler_context& ctx, const route_match& m) {
    std::optional<uuid> after;
    if (auto text = m.param("after")) {
        after = uuid::parse(*text);
        if (!after) return error_response(errc::invalid_id, "`after` is not a canonical lowercase UUID");
    }
    auto limit = parse_limit(m.param("limit"), default_user_page, max_user_page);
    if (!limit) return error_response(limit.error());
    auto users = ctx.store.list_users(after, *limit + 1);
    if (!users) return error_response(users.error());
    bool more = users->size() > *limit;
    if (more) users->resize(*limit);
    boost::json::array out;
    for (const auto& user : *users) {
        auto s = ctx.store.summary(user);
        if (!s) return error_response(s.error());
        auto quota = ctx.store.quota_in_force(user);
        if (!quota) return error_response(quota.error());
        out.push_back(boost::json::object{{"user", user.to_string()},
                                          {"transactions", s->transactions},
                                          {"chunks", s->chunks},
                                          {"bytes", s->bytes},
                                          {"quota_bytes", *quota}});
    }
    return json_response(200, {{"users", std::move(out)}, {"more", more}});
}

}  // namespace chunklog::api
