#include "chunklogd/maintenance.hpp"

#include "api/admin_token.hpp"

#include <chunklog/storage/maintenance.hpp>

#include <boost/program_options.hpp>

#include <chrono>
#include <iostream>

namespace chunklog {
namespace {

namespace po = boost::program_options;

struct command_line {
    std::string data_dir;
    std::string other_dir;  // --to or --from
};

// Parses "--data-dir D" and, when `other` is set, "--<other> DIR"; both required.
std::optional<command_line> parse(const std::vector<std::string>& args, const char* other, std::ostream& err) {
    command_line c;
    po::options_description d;
    d.add_options()("data-dir", po::value(&c.data_dir)->required(), "the server's data directory");
    if (other) d.add_options()(other, po::value(&c.other_dir)->required(), "the backup directory");
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(d).run(), vm);
        po::notify(vm);
        return c;
    } catch (const po::error& e) {
        err << "chunklogd " << args[0] << ": " << e.what() << "\nusage: chunklogd " << args[0] << " --data-dir DIR"
            << (other ? std::string(" --") + other + " DIR" : std::string()) << "\n";
        return std::nullopt;
    }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int verify(const command_line& c, std::ostream& out, std::ostream& err) {
    auto report = storage::verify_store(c.data_dir);
    if (!report) {
        err << "chunklogd verify: " << report.error().message << "\n";
        return 1;
    }
    for (const auto& p : report->problems) out << "problem: " << p << "\n";
    if (report->problem_count > report->problems.size())
        out << "... and " << report->problem_count - report->problems.size() << " more\n";
    out << c.data_dir << ": store format " << report->format << ", " << report->users << " users, "
        << report->transactions << " transactions, " << report->chunks << " chunks (" << report->chunk_bytes
        << " bytes), " << report->tokens << " tokens: "
        << (report->clean() ? "clean" : std::to_string(report->problem_count) + " problem(s)") << "\n";
    return report->clean() ? 0 : 1;
}

int copy(const char* verb, const outcome<storage::copy_report>& done, const std::string& to,
         std::chrono::steady_clock::time_point start, std::ostream& out, std::ostream& err) {
    if (!done) {
        err << "chunklogd " << verb << ": " << done.error().message << "\n";
        return 1;
    }
    out << verb << ": " << done->keys << " keys, " << done->bytes << " bytes (store format " << done->format
        << ") written to " << to << " in " << seconds_since(start) << " s\n";
    return 0;
}

}  // namespace

std::optional<int> run_maintenance_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty()) return std::nullopt;
    const std::vector<std::string> carry{api::admin_token_file_name};
    auto start = std::chrono::steady_clock::now();
    if (args[0] == "verify") {
        auto c = parse(args, nullptr, err);
        return c ? verify(*c, out, err) : 2;
    }
    if (args[0] == "backup") {
        auto c = parse(args, "to", err);
        return c ? copy("backup", storage::backup_store(c->data_dir, c->other_dir, carry), c->other_dir, start, out, err) : 2;
    }
    if (args[0] == "restore") {
        auto c = parse(args, "from", err);
        return c ? copy("restore", storage::restore_store(c->other_dir, c->data_dir, carry), c->data_dir, start, out, err)
                 : 2;
    }
    return std::nullopt;
}

}  // namespace chunklog
