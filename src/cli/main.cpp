// chunklog: the command-line client. Dispatches to a subcommand.
#include "cli/commands.hpp"

#include <iostream>

int main(int argc, char** argv) {
    using namespace chunklog::cli;
    global_options g;
    if (auto bad = parse_global_options(std::vector<std::string>(argv + 1, argv + argc), g)) {
        std::cerr << "chunklog: " << *bad << '\n';
        return exit_usage;
    }
    if (g.command.empty()) {
        (g.help ? std::cout : std::cerr) << general_help();
        return g.help ? exit_ok : exit_usage;
    }
    for (const auto& c : commands()) {
        if (g.command != c.name) continue;
        if (g.help && g.command != "task") {
            std::cout << "usage: chunklog " << c.usage << "\n\n" << c.summary << '\n';
            return exit_ok;
        }
        context ctx(g, std::cout, std::cerr);
        return c.run(ctx);
    }
    context ctx(g, std::cout, std::cerr);
    return ctx.usage_error("unknown command '" + g.command + "'");
}
