// Global options of the chunklog command-line client and where they come
// from: flags (before or after the subcommand), then CHUNKLOG_SERVER and
// CHUNKLOG_USER, then the config file written by `chunklog init`
// ($XDG_CONFIG_HOME/chunklog/config.json, default ~/.config). Start-up only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::cli {

// Documented exit codes.
enum exit_code : int {
    exit_ok = 0,
    exit_failure = 1,
    exit_usage = 2,
    exit_conflict = 3,
    exit_not_found = 4,
    exit_network = 5,
};

struct global_options {
    std::optional<std::string> server;
    std::optional<std::string> user;
    std::optional<std::string> replica;  // task replica directory
    bool json = false;
    bool help = false;
    std::string command;            // first positional argument
    std::vector<std::string> args;  // everything after it, globals removed
};

// Splits argv; returns an error message on a usage error.
std::optional<std::string> parse_global_options(const std::vector<std::string>& argv, global_options& out);

std::filesystem::path config_path();

struct config {
    std::string server = "http://127.0.0.1:8080";
    std::string user;  // empty until init
    std::string replica;  // task replica directory (flag or CHUNKLOG_REPLICA; else the default)
};

config load_config();  // defaults when the file is absent
void save_config(const config& c);

// Fills server and user from flags, environment and config file, in that order.
config resolve_config(const global_options& g);

}  // namespace chunklog::cli
