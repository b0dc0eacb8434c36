// What the chunklog subcommands share: the global options, the resolved
// configuration, strict parsing of their arguments, output in text or JSON,
// and error reporting with the documented exit codes (every error path ends
// in fail() or usage_error()). Single-threaded.
#pragma once

#include "cli/arguments.hpp"
#include "cli/config.hpp"
#include "cli/options.hpp"

#include <chunklog/client.hpp>

#include <boost/json/object.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::cli {

class context {
public:
    context(global_options g, std::ostream& out, std::ostream& err);

    const global_options& globals() const { return globals_; }
    const std::vector<std::string>& args() const { return globals_.args; }
    // Drops the first `n` args (the words of a two-word command name).
    void consume_args(std::size_t n);

    // Reads the configuration (flags, environment, config file) into settings().
    outcome<void> load_settings();
    config& settings() { return config_; }

    // Parses args() (or `words`) against `spec`; on a usage error, reports it
    // and returns its exit code.
    std::optional<int> parse(const argument_spec& spec, arguments& out);
    std::optional<int> parse(const std::vector<std::string>& words, const argument_spec& spec, arguments& out);

    // A client for the configured server, user and token; nullopt after
    // reporting a usage error (the caller exits with exit_usage).
    std::optional<client> connect();
    // A client for the configured server as `user` with `token` (empty: none).
    std::optional<client> connect_as(const uuid& user, const std::string& token);
    // Reports an error in text (stderr) or JSON (stdout) and returns its exit
    // code; in text, with a hint for the errors a flag fixes (a token, a CA).
    int fail(const error& e, bool with_hint = true);
    int usage_error(const std::string& message);
    // Prints a result: the JSON object with --json, else the text.
    void print(const boost::json::object& json, const std::string& text);
    // True when progress may be drawn (stdout is a terminal, not --json).
    bool show_progress() const;
    std::ostream& err() { return err_; }
    std::ostream& out() { return out_; }

private:
    global_options globals_;
    config config_;
    std::ostream& out_;
    std::ostream& err_;
};

}  // namespace chunklog::cli
