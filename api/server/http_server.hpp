// The chunklogd HTTP server: opens the store, listens (HTTPS only when a TLS
// certificate and key are configured), serves until SIGINT or SIGTERM, then
// shuts down gracefully (stops accepting, lets in-flight requests finish,
// closes idle connections and the store) and returns the process exit
// status. SIGHUP reads the TLS files again for new connections. Call
// run_server once, from the main thread.
#pragma once

#include <chunklog/storage/log_store.hpp>
#include "api/service_options.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace chunklog::api {

struct server_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    unsigned io_threads = 0;          // 0: one per core
    unsigned blocking_threads = 32;   // threads that wait on synced writes
    std::size_t max_connections = 4096;
    std::size_t max_header_bytes = 16 * 1024;
    std::chrono::seconds header_timeout{10};  // from a request's first byte to its complete header
    std::chrono::seconds idle_timeout{60};    // keep-alive connection with no request
    std::chrono::seconds body_timeout{120};   // to receive a whole body
    std::chrono::seconds write_timeout{60};   // to send a whole response
    std::chrono::seconds shutdown_grace{20};  // in-flight work allowed after SIGTERM
    service_options service;
    storage::store_options store;
    // The admin token's file; empty: DATA_DIR/admin-token, created if missing.
    std::string admin_token_file;
    // PEM files (the certificate file may hold the chain); both set: the
    // listener speaks HTTPS only (TLS 1.2 and 1.3), both empty: plain HTTP.
    std::string tls_cert_file;
    std::string tls_key_file;
};

int run_server(const server_config& config);

}  // namespace chunklog::api
