// Runs the real chunklog CLI as a process against a real chunklogd, with its
// configuration in a scratch directory, for end-to-end CLI tests.
#pragma once

#include "support/command.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/task_key.hpp"
#include "support/temp_dir.hpp"

#include <fstream>

namespace chunklog::test {

using cli_result = command_result;

struct cli_fixture {
    temp_dir dir;
    // Open registration: `chunklog init` claims its user and token, as on
    // the quick-start server.
    server_process server{dir.path() / "db", {"--registration", "open"}};
    std::string server_url = "http://127.0.0.1:" + std::to_string(server.port());

    // Runs chunklog with its config and default replica under `home`, no stdin.
    cli_result run(const std::string& args, const std::string& home = "a") const {
        return run_cli_in(dir.path() / home, args, "CHUNKLOG_ENCRYPTION_SECRET='" + task_secret + "'");
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
