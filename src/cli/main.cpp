// chunklog: the command-line client. Dispatches to a subcommand. Every
// failure, an unexpected exception included, ends in context::fail or
// context::usage_error: a documented exit code, and with --json one JSON
// object on stdout.
#include "cli/commands.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

namespace {
using namespace chunklog::cli;

// The words of a command's name: "token create" -> {"token", "create"}.
std::vector<std::string_view> name_words(std::string_view name) {
    std::vector<std::string_view> words;
    for (std::size_t start = 0; start <= name.size();) {
        auto end = std::min(name.find(' ', start), name.size());
        words.push_back(name.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

// Whether the arguments start with the subcommand words of `words`.
bool names_subcommand(const std::vector<std::string>& args, const std::vector<std::string_view>& words) {
    if (args.size() + 1 < words.size()) return false;
    return std::equal(words.begin() + 1, words.end(), args.begin());
}

int dispatch(context& ctx) {
    const auto& g = ctx.globals();
    if (g.command.empty()) {
        (g.help ? ctx.out() : ctx.err()) << general_help();
        return g.help ? exit_ok : exit_usage;
    }
    std::string group_usage;  // the usages of a group ("token ...") whose subcommand is missing or unknown
    for (const auto& c : commands()) {
        auto words = name_words(c.name);
        if (g.command != words[0]) continue;
        if (!names_subcommand(g.args, words)) {
            group_usage += "  chunklog " + std::string(c.usage) + "\n      " + c.summary + "\n";
            continue;
        }
        ctx.consume_args(words.size() - 1);
        if (g.help && g.command != "task") {
            ctx.out() << "usage: chunklog " << c.usage << "\n\n" << c.summary << '\n';
            return exit_ok;
        }
        if (c.reads_config && !g.help)  // `task --help` needs none
            if (auto loaded = ctx.load_settings(); !loaded) return ctx.fail(loaded.error());
        return c.run(ctx);
    }
    if (!group_usage.empty()) {
        if (g.help) {
            ctx.out() << "usage:\n" << group_usage;
            return exit_ok;
        }
        return ctx.usage_error(g.args.empty() ? "'" + g.command + "' needs a subcommand"
                                              : "unknown command '" + g.command + " " + g.args[0] + "'");
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
