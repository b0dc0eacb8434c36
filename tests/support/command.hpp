// Child processes for tests: a shell command's exit status and output, and
// the chunklog CLI run with its own config and data directories.
// Thread-safe (each call owns its pipe).
#pragma once

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace chunklog::test {

struct command_result {
    int exit = -1;  // -1 when the command did not exit normally
    std::string out;
};

// Runs `command` with /bin/sh and collects its standard output.
inline command_result run_command(const std::string& command) {
    command_result r;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.out.append(buf, n);
    int status = ::pclose(pipe);
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// The CLI with its config and data under `home`, none of the CHUNKLOG_*
// variables of the test's environment (`env` sets some), no stdin, stderr dropped.
inline command_result run_cli_in(const std::filesystem::path& home, const std::string& args, const std::string& env = {}) {
    return run_command("env -u CHUNKLOG_SERVER -u CHUNKLOG_USER -u CHUNKLOG_REPLICA -u CHUNKLOG_TOKEN -u CHUNKLOG_CA_FILE "
                       "-u CHUNKLOG_ADMIN_TOKEN -u CHUNKLOG_ENCRYPTION_SECRET XDG_CONFIG_HOME=" + home.string() + " XDG_DATA_HOME=" + home.string() +
                       "/data " + env + " " + CHUNKLOG_CLI_PATH + " " + args + " 2>/dev/null </dev/null");
}

}  // namespace chunklog::test
