// The subcommands of the chunklog command-line client: their table (name,
// usage, summary, entry point) and help texts. Each command parses its own
// arguments strictly through its context. Single-threaded.
#pragma once

#include "cli/context.hpp"

#include <string>
#include <vector>

namespace chunklog::cli {

struct command {
    const char* name;  // one word, or a group and its subcommand ("token create")
    const char* usage;
    const char* summary;
    int (*run)(context&);
    bool reads_config = true;  // main loads the configuration first (init reads it itself)
};

const std::vector<command>& commands();
int run_task(context& ctx);
// access_commands.cpp
int run_init(context& ctx);
int run_token_create(context& ctx);
int run_token_list(context& ctx);
int run_token_revoke(context& ctx);
int run_admin_user_create(context& ctx);
int run_admin_quota(context& ctx);
std::string task_help();
std::string general_help();

}  // namespace chunklog::cli
