// Runs the real chunklog CLI as a process against a real chunklogd, with its
// configuration in a scratch directory, for end-to-end CLI tests.
#pragma once

#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

namespace chunklog::test {

struct cli_result {
    int exit = -1;
    std::string out;
};

struct cli_fixture {
    temp_dir dir;
    // Open registration: `chunklog init` claims its user and token, as on
    // the quick-start server.
    server_process server{dir.path() / "db", {"--registration", "open"}};
    std::string server_url = "http://127.0.0.1:" + std::to_string(server.port());

    // Runs chunklog with its config and default replica under `home`, no stdin.
    cli_result run(const std::string& args, const std::string& home = "a") const {
        auto config = (dir.path() / home).string();
        std::string command = "env -u CHUNKLOG_SERVER -u CHUNKLOG_USER -u CHUNKLOG_REPLICA -u CHUNKLOG_TOKEN -u CHUNKLOG_CA_FILE "
                              "-u CHUNKLOG_ADMIN_TOKEN XDG_CONFIG_HOME=" + config +
                              " XDG_DATA_HOME=" + config + "/data " + CHUNKLOG_CLI_PATH + " " + args +
                              " 2>/dev/null </dev/null";
        cli_result r;
        FILE* pipe = ::popen(command.c_str(), "r");
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.out.append(buf, n);
        int status = ::pclose(pipe);
        r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
    }

    std::string write_file(const std::string& name, const std::string& bytes) {
        auto path = dir.path() / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path.string();
    }
};

inline std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}


}  // namespace chunklog::test
