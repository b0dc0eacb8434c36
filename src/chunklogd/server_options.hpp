// Command line and CHUNKLOG_* environment parsing for chunklogd. The command
// line wins over the environment. Single-threaded, start-up only.
#pragma once

#include "api/server/http_server.hpp"

#include <chrono>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace chunklog {

struct parsed_options {
    api::server_config config;
    std::string log_level = "info";
    bool show_help = false;
    bool show_version = false;
    std::string help_text;
    std::string error;  // non-empty: a usage error
};

parsed_options parse_server_options(const std::vector<std::string>& args);

// "90", "90s", "15m", "1h", "14d" (protocol section 7); nullopt when malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
std::string duration_help(std::string_view text);

// "HOST:PORT", "[V6]:PORT" or ":PORT"; false when malformed.
bool split_listen_address(const std::string& text, std::string& host, std::uint16_t& port);

// Applies --store (rocksdb:DIR, postgresql://..., postgres://... or
// postgresql:KEY=VALUE...) to `store`; empty text keeps it. A usage error's
// message, or empty.
std::string apply_store_location(const std::string& text, storage::store_options& store);

}  // namespace chunklog
