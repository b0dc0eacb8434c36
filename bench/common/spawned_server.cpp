#include "bench/common/spawned_server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace chunklog {
namespace {

// Reads the "chunklogd listening on http://HOST:PORT" line from the pipe.
std::uint16_t read_port(int fd) {
    std::string line;
    char c = 0;
    while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
    auto colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos) return 0;
    return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

int exit_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

spawned_server::spawned_server(const std::string& binary, const std::filesystem::path& data_dir,
                               std::vector<std::string> extra_args, std::uint16_t port)
    : log_path_(data_dir.string() + ".log"), data_dir_(data_dir) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> args{binary, "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", data_dir.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    // Everything that allocates happens before fork: in the child of a
    // multithreaded process only async-signal-safe calls are allowed.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    static constexpr char exec_failed[] = "spawned_server: execv failed\n";
    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
        ::dup2(out[1], STDOUT_FILENO);
        if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
        ::close(out[0]);
        ::execv(argv[0], argv.data());
        [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, exec_failed, sizeof exec_failed - 1);
        ::_exit(127);
    }
    if (log_fd >= 0) ::close(log_fd);
    ::close(out[1]);
    port_ = read_port(out[0]);
    ::close(out[0]);
    if (port_ == 0) {
        kill_hard();
        throw std::runtime_error("chunklogd did not start: " + log());
    }
}

spawned_server::~spawned_server() {
    if (running()) kill_hard();
}

void spawned_server::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

int spawned_server::terminate_and_wait(int signal) {
    if (pid_ <= 0) return -1;
    if (signal != 0) ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return exit_status(status);
}

long spawned_server::rss_kib() const {
    if (pid_ <= 0) return 0;
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

std::string spawned_server::log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string spawned_server::admin_token() const {
    std::ifstream in(data_dir_ / "admin-token");
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace chunklog
