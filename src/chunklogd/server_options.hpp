// Command line and CHUNKLOG_* environment parsing for chunklogd. The command
// line wins over the environment. Single-threaded, start-up only.
#pragma once

#include "api/server/http_server.hpp"

#include <optional>
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

// "HOST:PORT", "[V6]:PORT" or ":PORT"; false when malformed.
bool split_listen_address(const std::string& text, std::string& host, std::uint16_t& port);

}  // namespace chunklog
