// chunklogd: the chunklog sync server. Runs a maintenance command (verify,
// backup, restore) or parses options and runs the server.
#include "api/server/http_server.hpp"
#include "api/request_log.hpp"
#include "chunklogd/maintenance.hpp"
#include "chunklogd/server_options.hpp"

#include <chunklog/version.hpp>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or peer must not kill the server
    std::vector<std::string> args(argv + 1, argv + argc);
    if (auto status = chunklog::run_maintenance_command(args, std::cout, std::cerr)) return *status;
    auto options = chunklog::parse_server_options(args);
    if (!options.error.empty()) {
        std::cerr << "chunklogd: " << options.error << "\n\n" << options.help_text;
        return 2;
    }
    if (options.show_help) {
        std::cout << options.help_text;
        return 0;
    }
    if (options.show_version) {
        std::cout << "chunklogd " << chunklog::software_version << " (protocol " << chunklog::protocol_version
                  << ")\n";
        return 0;
    }
    chunklog::api::log_level level{};
    if (!chunklog::api::parse_log_level(options.log_level, level)) {
        std::cerr << "chunklogd: unknown --log-level '" << options.log_level << "'\n";
        return 2;
    }
    chunklog::api::set_log_level(level);
    return chunklog::api::run_server(options.config);
}
