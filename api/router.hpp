// router: maps a request to its route and handler and returns the response.
// It never touches sockets: the HTTP session asks it how to read a body
// (body_rule_for), then hands it the complete request (handle). handle() may
// block on storage; the session runs writes off its I/O threads.
// Thread-safe: one router serves every connection.
#pragma once

#include "api/access_control.hpp"
#include "api/head_watch.hpp"
#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "api/routes.hpp"
#include "api/service_options.hpp"

#include <chunklog/storage/log_store.hpp>

namespace chunklog::api {

class router {
public:
    router(storage::log_store& store, service_options options, metrics& counters);

    struct body_rule {
        std::size_t limit;  // bytes; a larger body is answered 413
        bool hash;          // compute the body's SHA-256 while it streams in
    };
    body_rule body_rule_for(http_method method, route_kind route) const;
    body_rule body_rule_for(http_method method, std::string_view target) const;

    // Whether handling may wait on a synced disk write.
    static bool may_block(http_method method) {
        return method == http_method::put || method == http_method::post || method == http_method::delete_;
    }

    // Whether handling `method` on `route` may wait on the disk: writes do,
    // except a chunk PUT and a publish when the store queues them (their
    // handlers answer through response::deferred then).
    bool may_block(http_method method, route_kind route) const {
        if (!may_block(method)) return false;
        bool queueable = (method == http_method::put && route == route_kind::chunk) ||
                         (method == http_method::post && route == route_kind::publish);
        return !(queueable && store_.queues_writes());
    }

    // Answers a complete request; `route` is match_route(req.target), which
    // the session computes once for body_rule_for and handle.
    response handle(const request& req, const route_match& route);
    response handle(const request& req);

    // The header-only step before a body is read (see access_control).
    std::optional<response> admit(request& req, const route_match& route) { return access_.admit(req, route); }
    // Adds the headers every answer to `req` carries, however it was
    // produced: CORS, and Cache-Control: no-store on TaskChampion's paths.
    void decorate(response& res, const request& req) const;

    const service_options& options() const { return options_; }
    storage::log_store& store() { return store_; }
    metrics& counters() { return metrics_; }
    head_watch& watch() { return watch_; }
    // A token revoked on another node (nullopt: any may have been): checked again at its next use.
    void forget_token(const std::optional<digest>& secret_hash) {
        if (secret_hash) access_.forget_token(*secret_hash);
        else access_.forget_all_tokens();
    }

private:
    storage::log_store& store_;
    service_options options_;
    metrics& metrics_;
    head_watch watch_;
    access_control access_;
};

}  // namespace chunklog::api
