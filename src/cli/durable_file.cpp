#include "cli/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chunklog::cli {
namespace {

error failure(const std::string& what, const std::filesystem::path& path, int err) {
    return make_error(errc::internal, what + " " + path.string() + ": " + std::strerror(err));
}

// Closes a descriptor when it goes out of scope.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

outcome<void> write_all(int fd, const std::string& bytes, const std::filesystem::path& path) {
    for (std::size_t done = 0; done < bytes.size();) {
        auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failure("cannot write", path, errno);
        done += static_cast<std::size_t>(n);
    }
    return {};
}

outcome<void> write_synced(const std::filesystem::path& path, const std::string& bytes, mode_t mode) {
    fd_guard f{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)};
    if (f.fd < 0) return failure("cannot create", path, errno);
    if (auto w = write_all(f.fd, bytes, path); !w) return w;
    if (::fsync(f.fd) != 0) return failure("cannot sync", path, errno);
    int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) return failure("cannot write", path, errno);
    return {};
}

outcome<void> sync_directory(const std::filesystem::path& dir) {
    fd_guard f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (f.fd < 0 || ::fsync(f.fd) != 0) return failure("cannot sync", dir, errno);
    return {};
}

}  // namespace

outcome<std::optional<std::string>> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
    fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>{};
        return failure("cannot read", path, errno);
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        auto n = ::read(f.fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failure("cannot read", path, errno);
        if (n == 0) return std::optional<std::string>{std::move(text)};
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.size() > max_bytes) return failure("cannot read", path, EFBIG);
    }
}

outcome<void> replace_file(const std::filesystem::path& path, const std::string& bytes, mode_t mode) {
    auto dir = path.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(errc::internal, "cannot create " + dir.string() + ": " + ec.message());
    auto temp = path;
    temp += ".tmp-" + std::to_string(::getpid());
    auto written = write_synced(temp, bytes, mode);
    if (written && ::rename(temp.c_str(), path.c_str()) != 0) written = failure("cannot replace", path, errno);
    if (!written) {
        ::unlink(temp.c_str());
        return written;
    }
    return sync_directory(dir);
}

}  // namespace chunklog::cli
