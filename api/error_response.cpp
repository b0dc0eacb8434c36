#include "api/error_response.hpp"

#include <boost/json.hpp>

namespace chunklog::api {

unsigned http_status(errc code) noexcept {
    switch (code) {
    case errc::bad_request:
    case errc::invalid_id:
    case errc::hash_mismatch: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found:
    case errc::unknown_transaction:
    case errc::missing_chunks: return 404;
    case errc::method_not_allowed: return 405;
    case errc::unknown_parent:
    case errc::transaction_exists:
    case errc::conflict: return 409;
    case errc::payload_too_large: return 413;
    case errc::unavailable: return 503;
    case errc::too_many_requests: return 429;
    case errc::quota_exceeded:
    case errc::insufficient_storage: return 507;
    case errc::history_truncated: return 410;
    case errc::internal:
    case errc::network:
    case errc::tls_failure: return 500;
    }
    return 500;
}

response error_response(const error& e) {
    boost::json::object body{{"error", code_name(e.code)}, {"message", e.message}};
    if (e.head) body["head"] = e.head->to_string();
    if (e.code == errc::missing_chunks) {
        boost::json::array missing;
        for (const auto& id : e.missing) missing.emplace_back(id.to_string());
        body["missing"] = std::move(missing);
    }
    response r;
    r.status = http_status(e.code);
    r.content_type = "application/json";
    r.body = boost::json::serialize(body);
    // The store cannot answer now (its database is down or restarting): try again soon.
    if (e.code == errc::unavailable) r.headers.emplace_back("Retry-After", "1");
    return r;
}

response error_response(errc code, std::string message) { return error_response(make_error(code, std::move(message))); }

}  // namespace chunklog::api
