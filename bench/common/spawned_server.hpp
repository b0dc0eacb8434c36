// Starts a real chunklogd binary on 127.0.0.1 with a free port and its own
// data directory (used by chunklog-bench --spawn and by the end-to-end
// tests); SIGKILLs it when the object dies unless it was stopped first, and
// the child gets SIGKILL when the thread that started it exits (Linux
// PR_SET_PDEATHSIG), so start servers from a thread that outlives them.
// Single owner; not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace chunklog {

class spawned_server {
public:
    // Starts `binary --listen 127.0.0.1:PORT --data-dir data_dir extra_args...`
    // and waits until it listens; stderr goes to data_dir + ".log".
    spawned_server(const std::string& binary, const std::filesystem::path& data_dir,
                   std::vector<std::string> extra_args = {}, std::uint16_t port = 0);
    ~spawned_server();
    spawned_server(const spawned_server&) = delete;
    spawned_server& operator=(const spawned_server&) = delete;

    std::uint16_t port() const { return port_; }
    // The admin token the server created in its data directory ("" when it
    // has none: another --admin-token-file was given).
    std::string admin_token() const;
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    void kill_hard();                    // SIGKILL, and reap
    int terminate_and_wait(int signal);  // sends signal (0: none); returns the exit status (or 128+signal)
    std::string log() const;             // what the server wrote to stderr
    long rss_kib() const;                // resident memory now, from /proc (0 if unknown)

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::filesystem::path log_path_;
    std::filesystem::path data_dir_;
};

}  // namespace chunklog
