#include "chunklogd/maintenance.hpp"

#include "chunklogd/server_options.hpp"

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
    storage::store_options store;  // verify: --store, else rocksdb:DATA_DIR
};

// Parses "--data-dir D" and, when `other` is set, "--<other> DIR"; both
// required. With `store`, "--store S" may stand for --data-dir.
std::optional<command_line> parse(const std::vector<std::string>& args, const char* other, std::ostream& err,
                                  bool store = false) {
    command_line c;
    std::string location;
    po::options_description d;
    d.add_options()("data-dir", store ? po::value(&c.data_dir) : po::value(&c.data_dir)->required(),
                    "the server's data directory");
    if (store) d.add_options()("store", po::value(&location), "the server's store");
    if (other) d.add_options()(other, po::value(&c.other_dir)->required(), "the backup directory");
    auto usage = [&](const std::string& problem) {
        err << "chunklogd " << args[0] << ": " << problem << "\nusage: chunklogd " << args[0]
            << (store ? " --data-dir DIR | --store STORE" : " --data-dir DIR")
            << (other ? std::string(" --") + other + " DIR" : std::string()) << "\n";
        return std::nullopt;
    };
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(d).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage(e.what());
    }
    c.store.dir = c.data_dir;
    if (auto e = apply_store_location(location, c.store); !e.empty()) return usage(e);
    if (c.store.kind == storage::store_kind::rocksdb && c.store.dir.empty()) return usage("give --data-dir or --store");
    if (c.data_dir.empty()) c.data_dir = c.store.kind == storage::store_kind::rocksdb ? c.store.dir.string() : "the PostgreSQL store";
    return c;
}

struct migrate_line {
    std::filesystem::path from;  // a RocksDB data directory
    std::string to;              // a libpq connection string
};

// Parses "--from rocksdb:DIR --to postgresql://..." (or "--to
// postgresql:KEY=VALUE...", as --store takes it); both required.
std::optional<migrate_line> parse_migrate(const std::vector<std::string>& args, std::ostream& err) {
    std::string from, to;
    po::options_description d;
    d.add_options()("from", po::value(&from)->required(), "the RocksDB store")("to", po::value(&to)->required(),
                                                                                "the PostgreSQL store");
    auto usage = [&](const std::string& problem) {
        err << "chunklogd migrate: " << problem
            << "\nusage: chunklogd migrate --from rocksdb:DIR --to postgresql://... | postgresql:KEY=VALUE...\n";
        return std::nullopt;
    };
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end())).options(d).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage(e.what());
    }
    storage::store_options source, destination;
    if (!from.starts_with("rocksdb:") || !apply_store_location(from, source).empty())
        return usage("--from must be rocksdb:DIR, got '" + from + "'");
    if (!apply_store_location(to, destination).empty() || destination.kind != storage::store_kind::postgresql)
        return usage("--to must be postgresql://... or postgresql:KEY=VALUE..., got '" + to + "'");
    return migrate_line{source.dir, destination.connection};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prints the problems a check found, at most the listed ones and a count of the rest.
void print_problems(const std::vector<std::string>& listed, std::uint64_t count, std::ostream& out) {
    for (const auto& p : listed) out << "problem: " << p << "\n";
    if (count > listed.size()) out << "... and " << count - listed.size() << " more\n";
}

int verify(const command_line& c, std::ostream& out, std::ostream& err) {
    auto report = c.store.kind == storage::store_kind::postgresql ? storage::verify_postgresql(c.store.connection)
                                                                  : storage::verify_store(c.store.dir);
    if (!report) {
        err << "chunklogd verify: " << report.error().message << "\n";
        return 1;
    }
    print_problems(report->problems, report->problem_count, out);
    out << c.data_dir << (c.store.kind == storage::store_kind::postgresql ? ": schema version " : ": store format ")
        << report->format << ", " << report->users << " users, "
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

int migrate(const migrate_line& c, std::chrono::steady_clock::time_point start, std::ostream& out, std::ostream& err) {
    auto report = storage::migrate_to_postgresql(c.from, c.to, [&](std::string_view line) { out << line << std::endl; });
    if (!report) {
        err << "chunklogd migrate: " << report.error().message << "\n";
        return 1;
    }
    print_problems(report->problems, report->problem_count, out);
    out << "migrate: " << report->users_migrated << " users migrated, " << report->users_skipped
        << " skipped (already migrated); " << report->transactions << " transactions, " << report->chunks
        << " chunks (" << report->chunk_bytes << " bytes), " << report->tokens << " tokens written in "
        << seconds_since(start) << " s: "
        << (report->clean() ? "verified" : std::to_string(report->problem_count) + " problem(s)") << std::endl;
    return report->clean() ? 0 : 1;
}

}  // namespace

std::optional<int> run_maintenance_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    if (args.empty()) return std::nullopt;
    const std::vector<std::string> carry{api::admin_token_file_name};
    auto start = std::chrono::steady_clock::now();
    if (args[0] == "verify") {
        auto c = parse(args, nullptr, err, true);
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
    if (args[0] == "migrate") {
        auto c = parse_migrate(args, err);
        return c ? migrate(*c, start, out, err) : 2;
    }
    return std::nullopt;
}

}  // namespace chunklog
