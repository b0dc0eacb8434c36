// access_control: who may call what (protocol sections 7 and 12), settled
// from a request's header before its body is read. It verifies tokens, as
// Bearer or, on TaskChampion's paths, as a Basic password (the
// admin token, or a device token through token_cache and the store), applies
// the per-address limiter on failed authentication, answers CORS preflights,
// answers a chunk PUT that cannot fit its user's quota from Content-Length
// alone, and adds CORS headers to every answer. Thread-safe.
#pragma once

#include "api/auth_limiter.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/routes.hpp"
#include "api/service_options.hpp"
#include "api/token_cache.hpp"

#include <chunklog/storage/log_store.hpp>

#include <optional>

namespace chunklog::api {

class access_control {
public:
    access_control(const service_options& options, storage::log_store& store, metrics& counters);

    // nullopt: the request may go on (req.caller names who sent it, when a
    // token was given). Otherwise the answer; one with retry_blocking set
    // asks to be called again with req.may_block true (a disk read).
    std::optional<response> admit(request& req, const route_match& route);

    // Adds the CORS headers an answer to `req` carries (none unless its
    // Origin is allowed).
    void decorate(response& res, const request& req) const;

    // Forgets a revoked token at once.
    void forget_token(const digest& secret_hash) { cache_.forget(secret_hash); }
    void forget_all_tokens() { cache_.clear(); }

    // The answer to a request without valid credentials: 401 (counted by
    // the limiter), or 429 once its address is over the limit.
    // `scheme` names the WWW-Authenticate challenge.
    std::optional<response> refuse_unauthenticated(const request& req, std::string why,
                                                   std::string_view scheme = "Bearer");

private:
    enum class verdict { valid, invalid, on_disk, store_failed };
    struct verified {
        verdict outcome = verdict::invalid;
        principal who;
        std::string why;  // for invalid and store_failed
    };
    // `basic`: a Basic password counts as the token too (TaskChampion's paths).
    verified verify(const request& req, bool basic = false);
    std::optional<response> admit_taskchampion(request& req, const route_match& route);
    std::optional<response> require_admin(request& req);
    std::optional<response> require_user(request& req, const uuid& user, const route_match& route);
    std::optional<response> check_tokens_route(request& req, const uuid& user, const route_match& route);
    std::optional<response> check_early_quota(const request& req, const uuid& user, const route_match& route);
    response preflight(const route_match& route) const;
    bool origin_allowed(std::string_view origin) const;

    const service_options& options_;
    storage::log_store& store_;
    metrics& counters_;
    token_cache cache_;
    auth_limiter limiter_;
};

}  // namespace chunklog::api
