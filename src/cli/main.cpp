// chunklog: the command-line client. Dispatches to a subcommand. Every
// failure, an unexpected exception included, ends in context::fail or
// context::usage_error: a documented exit code, and with --json one JSON
// object on stdout.
#include "cli/commands.hpp"

#include <exception>
#include <iostream>

namespace {
using namespace chunklog::cli;

int dispatch(context& ctx) {
    const auto& g = ctx.globals();
    if (g.command.empty()) {
        (g.help ? ctx.out() : ctx.err()) << general_help();
        return g.help ? exit_ok : exit_usage;
    }
    for (const auto& c : commands()) {
        if (g.command != c.name) continue;
        if (g.help && g.command != "task") {
            ctx.out() << "usage: chunklog " << c.usage << "\n\n" << c.summary << '\n';
            return exit_ok;
        }
        if (c.reads_config && !g.help)  // `task --help` needs none
            if (auto loaded = ctx.load_settings(); !loaded) return ctx.fail(loaded.error());
        return c.run(ctx);
    }
    return ctx.usage_error("unknown command '" + g.command + "'");
}

// An exception no command expected: exit_failure, reported like any error.
int fail_unexpected(context& ctx, const std::string& what) noexcept {
    try {
        return ctx.fail(chunklog::make_error(chunklog::errc::internal, what));
    } catch (...) {
        return exit_failure;
    }
}

}  // namespace

int main(int argc, char** argv) {
    global_options g;
    auto bad = parse_global_options(std::vector<std::string>(argv + 1, argv + argc), g);
    context ctx(std::move(g), std::cout, std::cerr);
    if (bad) return ctx.usage_error(*bad);
    try {
        return dispatch(ctx);
    } catch (const std::exception& e) {
        return fail_unexpected(ctx, std::string("unexpected failure: ") + e.what());
    } catch (...) {
        return fail_unexpected(ctx, "unexpected failure");
    }
}
