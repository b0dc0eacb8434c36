// Starts the real chunklogd binary on a loopback port with its own data
// directory, for end-to-end tests; kills it (SIGKILL) when the object dies
// unless it was stopped first. Single owner; not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace chunklog::test {

class server_process {
public:
    // Starts chunklogd on 127.0.0.1:0 over data_dir; waits until it listens.
    explicit server_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args = {});
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    void kill_hard();                    // SIGKILL, and reap
    int terminate_and_wait(int signal);  // sends signal; returns the exit status (or 128+signal)
    std::string log() const;             // what the server wrote to stderr

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::filesystem::path log_path_;
};

}  // namespace chunklog::test
