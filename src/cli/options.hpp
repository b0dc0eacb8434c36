// Global options of the chunklog command-line client (--server, --user,
// --token, --ca-file, --admin-token, --replica, --encryption-secret,
// --json, --help), accepted
// before or after the subcommand, and the documented exit codes. Start-up
// only; pure functions.
#pragma once

#include <chunklog/errors.hpp>

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
    exit_unauthorized = 6,     // 401: no token, or an unknown, expired or revoked one
    exit_forbidden = 7,        // 403: the token may not do this (another user's, read-only)
    exit_too_many_requests = 8,  // 429, still after waiting and retrying
    exit_storage_full = 9,     // 507: the user's quota or the server's disk
    exit_tls = 10,             // the server's certificate did not verify, or no TLS handshake
};

// The exit code of a failure with this code.
exit_code exit_code_for(errc code) noexcept;

struct global_options {
    std::optional<std::string> server;
    std::optional<std::string> user;
    std::optional<std::string> token;
    std::optional<std::string> ca_file;
    std::optional<std::string> admin_token;
    std::optional<std::string> replica;  // task replica directory
    std::optional<std::string> encryption_secret;  // the task list's
    bool json = false;
    bool help = false;
    std::string command;            // first positional argument
    std::vector<std::string> args;  // everything after it, globals removed
};

// Splits argv; returns an error message on a usage error (`out` then holds
// what was read before it, --json included). A value flag needs a value
// that is not itself a flag; after "--" nothing is a global option.
std::optional<std::string> parse_global_options(const std::vector<std::string>& argv, global_options& out);

}  // namespace chunklog::cli
