#include "api/access_control.hpp"

#include "api/error_response.hpp"
#include "api/token_secret.hpp"

#include <chunklog/sha256.hpp>

#include <openssl/crypto.h>

#include <algorithm>

namespace chunklog::api {
namespace {

constexpr std::string_view allowed_methods = "GET, HEAD, PUT, POST, DELETE";
constexpr std::string_view allowed_headers = "Authorization, Content-Type, If-None-Match";
constexpr std::string_view exposed_headers = "ETag, Retry-After, Snapshot-Urgency, X-Request-Id, WWW-Authenticate";
constexpr std::string_view preflight_max_age = "86400";

bool is_write(http_method m) { return m == http_method::put || m == http_method::post || m == http_method::delete_; }

bool same_digest(const digest& a, const digest& b) {
    return CRYPTO_memcmp(a.raw().data(), b.raw().data(), a.raw().size()) == 0;
}

bool is_user_route(route_kind kind) {
    switch (kind) {
    case route_kind::user:
    case route_kind::head:
    case route_kind::transactions:
    case route_kind::transaction:
    case route_kind::chunk:
    case route_kind::chunks_missing:
    case route_kind::publish:
    case route_kind::log:
    case route_kind::tokens:
    case route_kind::token:
    case route_kind::snapshot:
    case route_kind::snapshots:
    case route_kind::quota: return true;
    default: return false;
    }
}

}  // namespace

access_control::access_control(const service_options& options, storage::log_store& store, metrics& counters)
    : options_(options),
      store_(store),
      counters_(counters),
      cache_(options.access.token_cache_entries, options.access.token_cache_ttl),
      limiter_(options.access.auth_failure_limit, options.access.auth_failure_window, options.access.limiter_addresses) {}

std::optional<response> access_control::admit(request& req, const route_match& route) {
    if (req.method == http_method::options && route.kind != route_kind::unmatched) return preflight(route);
    if (route.kind == route_kind::metrics)
        return options_.access.auth == auth_mode::none ? std::nullopt : require_admin(req);
    if (route.kind == route_kind::admin_users || route.kind == route_kind::admin_gc) return require_admin(req);
    if (is_taskchampion_route(route.kind)) return admit_taskchampion(req, route);
    if (!is_user_route(route.kind)) return std::nullopt;
    const auto& user = route.user;
    if (!user) return std::nullopt;  // the handler answers 400 invalid_id first
    if (route.kind == route_kind::quota) return require_admin(req);
    if (route.kind == route_kind::tokens || route.kind == route_kind::token)
        return check_tokens_route(req, *user, route);
    if (options_.access.auth == auth_mode::token)
        if (auto refused = require_user(req, *user, route)) return refused;
    return check_early_quota(req, *user, route);
}

// TaskChampion's paths (protocol section 12) name their user in X-Client-Id;
// a token may also come as the password of Basic authentication.
std::optional<response> access_control::admit_taskchampion(request& req, const route_match& route) {
    auto user = uuid::parse(req.client_id);
    if (!user) return std::nullopt;  // the handler answers 400 bad_request first
    if (options_.access.auth == auth_mode::none) return std::nullopt;
    return require_user(req, *user, route);
}

access_control::verified access_control::verify(const request& req, bool basic) {
    auto token = bearer_token(req.authorization);
    std::optional<std::string> password;  // owns a Basic password that `token` views
    if (!token && basic && (password = basic_password(req.authorization))) token = *password;
    if (!token && basic) {
        return {verdict::invalid, {},
                req.authorization.empty()
                    ? "this request needs a token, as Authorization: Bearer or as the password of Basic authentication"
                    : "the Authorization header carries neither a well-formed bearer token nor a Basic password"};
    }
    if (!token) {
        return {verdict::invalid, {},
                req.authorization.empty() ? "this request needs an Authorization: Bearer token"
                                          : "the Authorization header is not a well-formed bearer token"};
    }
    auto hash = sha256_of(*token);
    if (options_.access.admin_token_hash && same_digest(hash, *options_.access.admin_token_hash))
        return {verdict::valid, principal{true, {}, true, {}}, {}};
    auto record = cache_.find(hash);
    if (!record) {
        if (!req.may_block) return {verdict::on_disk, {}, {}};
        auto found = store_.find_token(hash);
        if (!found) return {verdict::store_failed, {}, found.error().message};
        if (!*found) return {verdict::invalid, {}, "unknown or revoked token"};
        record = std::move(**found);
        cache_.insert(hash, *record);
    }
    if (record->expires && unix_now() >= *record->expires) return {verdict::invalid, {}, "the token has expired"};
    return {verdict::valid, principal{false, record->user, record->scope == storage::token_scope::write, record->id},
            {}};
}

std::optional<response> access_control::refuse_unauthenticated(const request& req, std::string why,
                                                               std::string_view scheme) {
    if (auto wait = limiter_.blocked(req.peer)) {
        auto r = error_response(errc::too_many_requests, "too many failed authentications from this address; retry in " +
                                                             std::to_string(wait->count()) + " s");
        r.set_header("Retry-After", std::to_string(wait->count()));
        return r;
    }
    limiter_.record_failure(req.peer);
    counters_.auth_failed();
    auto r = error_response(errc::unauthorized, std::move(why));
    r.set_header("WWW-Authenticate", std::string(scheme) + " realm=\"chunklog\"");
    return r;
}

std::optional<response> access_control::require_admin(request& req) {
    auto v = verify(req);
    switch (v.outcome) {
    case verdict::on_disk: return retry_on_blocking_pool();
    case verdict::store_failed: return error_response(errc::unavailable, "cannot read tokens: " + v.why);
    case verdict::invalid: return refuse_unauthenticated(req, std::move(v.why));
    case verdict::valid: break;
    }
    if (!v.who.admin) return error_response(errc::forbidden, "this path needs the admin token");
    req.caller = std::move(v.who);
    return std::nullopt;
}

std::optional<response> access_control::require_user(request& req, const uuid& user, const route_match& route) {
    bool taskchampion = is_taskchampion_route(route.kind);
    auto v = verify(req, taskchampion);
    switch (v.outcome) {
    case verdict::on_disk: return retry_on_blocking_pool();
    case verdict::store_failed: return error_response(errc::unavailable, "cannot read tokens: " + v.why);
    case verdict::invalid: return refuse_unauthenticated(req, std::move(v.why), taskchampion ? "Basic" : "Bearer");
    case verdict::valid: break;
    }
    if (!v.who.admin && v.who.user != user) return error_response(errc::forbidden, "this token belongs to another user");
    bool reads_only = route.kind == route_kind::chunks_missing;
    if (!v.who.can_write && is_write(req.method) && !reads_only)
        return error_response(errc::forbidden, "this token may only read");
    req.caller = std::move(v.who);
    return std::nullopt;
}

// Token management: the admin or a write token of the user; a token may
// revoke itself; with open registration, the first token of a user that has
// none may be claimed without a token (the handler checks "has none"
// atomically).
std::optional<response> access_control::check_tokens_route(request& req, const uuid& user, const route_match& route) {
    bool claim = route.kind == route_kind::tokens && req.method == http_method::post && req.authorization.empty();
    if (claim && options_.access.open_registration) return std::nullopt;
    auto v = verify(req);
    switch (v.outcome) {
    case verdict::on_disk: return retry_on_blocking_pool();
    case verdict::store_failed: return error_response(errc::unavailable, "cannot read tokens: " + v.why);
    case verdict::invalid: return refuse_unauthenticated(req, std::move(v.why));
    case verdict::valid: break;
    }
    if (!v.who.admin && v.who.user != user) return error_response(errc::forbidden, "this token belongs to another user");
    bool revokes_itself = route.kind == route_kind::token && route.id == v.who.token_id;
    if (!v.who.can_write && !revokes_itself)
        return error_response(errc::forbidden, "managing tokens needs a write token or the admin token");
    req.caller = std::move(v.who);
    return std::nullopt;
}

std::optional<response> access_control::check_early_quota(const request& req, const uuid& user, const route_match& route) {
    if (route.kind != route_kind::chunk || req.method != http_method::put || !req.content_length ||
        *req.content_length < options_.access.early_quota_check_bytes)
        return std::nullopt;
    auto id = digest::parse(route.id);
    if (!id) return std::nullopt;
    if (!req.may_block) return retry_on_blocking_pool();
    auto quota = store_.quota_in_force(user);
    if (!quota || *quota == 0) return std::nullopt;  // a read failure is the handler's to report
    auto stored = store_.chunk_size(user, *id);
    if (!stored || *stored) return std::nullopt;
    auto summary = store_.summary(user);
    if (!summary || summary->bytes + *req.content_length <= *quota) return std::nullopt;
    return error_response(errc::quota_exceeded, "a chunk of " + std::to_string(*req.content_length) +
                                                    " bytes would take this user past its quota of " +
                                                    std::to_string(*quota) + " bytes (" +
                                                    std::to_string(summary->bytes) + " stored)");
}

response access_control::preflight(const route_match& route) const {
    response r;
    r.status = 204;
    r.route = route.kind;
    r.set_header("Allow", allow_header(route.kind) + ", OPTIONS");
    return r;
}

bool access_control::origin_allowed(std::string_view origin) const {
    const auto& allowed = options_.access.cors_origins;
    return !origin.empty() && std::any_of(allowed.begin(), allowed.end(), [origin](const std::string& o) {
        return o == "*" || o == origin;
    });
}

void access_control::decorate(response& res, const request& req) const {
    if (!origin_allowed(req.origin)) return;
    bool any = std::find(options_.access.cors_origins.begin(), options_.access.cors_origins.end(), "*") !=
               options_.access.cors_origins.end();
    res.set_header("Access-Control-Allow-Origin", any ? "*" : req.origin);
    if (!any) res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers", std::string(exposed_headers));
    if (req.method == http_method::options && res.status == 204) {
        res.set_header("Access-Control-Allow-Methods", std::string(allowed_methods));
        res.set_header("Access-Control-Allow-Headers", std::string(allowed_headers));
        res.set_header("Access-Control-Max-Age", std::string(preflight_max_age));
    }
}

}  // namespace chunklog::api
