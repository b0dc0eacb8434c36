// The chunklog CLI's configuration and where it comes from: flags, then
// CHUNKLOG_SERVER, CHUNKLOG_USER, CHUNKLOG_TOKEN and CHUNKLOG_CA_FILE, then
// the config file written by `chunklog init` ($XDG_CONFIG_HOME/chunklog/
// config.json, default ~/.config). The user id and the token in that file
// are the keys to the user's data, so the file is never silently ignored or
// half written: a missing file is "no config", an unreadable or malformed
// one is an error naming it, and a save replaces it atomically and durably,
// readable by its owner only. Start-up only; not thread-safe.
#pragma once

#include "cli/options.hpp"

#include <chunklog/errors.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace chunklog::cli {

struct config {
    std::string server = "http://127.0.0.1:8080";
    std::string user;     // empty until init
    std::string token;    // the bearer token; empty: none (a server without authentication)
    std::string ca_file;  // extra trusted CA certificates for https; empty: the system's only
    std::string replica;  // task replica directory (flag or CHUNKLOG_REPLICA; else the default)
    // Only from --admin-token or CHUNKLOG_ADMIN_TOKEN, never saved.
    std::string admin_token;
};

std::filesystem::path config_path();

// The config file; nullopt when there is none.
outcome<std::optional<config>> load_config();
// Replaces the config file (temp file, fsync, rename, fsync of the directory).
outcome<void> save_config(const config& c);

// `c` with the environment and then the flags applied over it.
config with_overrides(config c, const global_options& g);
// The configuration in force: the file (or the defaults), the environment, the flags.
outcome<config> resolve_config(const global_options& g);

}  // namespace chunklog::cli
