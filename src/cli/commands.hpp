// The subcommands of the chunklog command-line client, and the context they
// share (resolved configuration, output in text or JSON, error reporting
// with the documented exit codes). Single-threaded.
#pragma once

#include "cli/options.hpp"

#include <chunklog/client.hpp>

#include <boost/json/object.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace chunklog::cli {

class context {
public:
    context(global_options g, std::ostream& out, std::ostream& err);

    const global_options& globals() const { return globals_; }
    config& settings() { return config_; }
    const std::vector<std::string>& args() const { return globals_.args; }

    // A client for the configured server and user; nullopt after reporting why.
    std::optional<client> connect();
    // Reports an error in text (stderr) or JSON (stdout) and returns its exit code.
    int fail(const error& e);
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

struct command {
    const char* name;
    const char* usage;
    const char* summary;
    int (*run)(context&);
};

const std::vector<command>& commands();
int run_task(context& ctx);
std::string task_help();
std::string general_help();

}  // namespace chunklog::cli
