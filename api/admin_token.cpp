#include "api/admin_token.hpp"

#include "api/token_secret.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace chunklog::api {
namespace {

error file_error(const std::filesystem::path& file, const std::string& what) {
    return make_error(errc::internal, "admin token file " + file.string() + ": " + what);
}

// Creates `file` holding `text` only if it does not exist; synced, with its directory.
outcome<bool> create_exclusive(const std::filesystem::path& file, const std::string& text) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return false;
        return file_error(file, std::strerror(errno));
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    int saved = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(file.c_str());
        return file_error(file, std::strerror(saved));
    }
    int dir = ::open(file.parent_path().empty() ? "." : file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

}  // namespace

outcome<std::string> read_admin_token(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return file_error(file, "cannot be read");
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!valid_token_text(line))
        return file_error(file, "its first line must be the token: printable ASCII without spaces, 1 to 256 characters");
    return line;
}

outcome<std::string> load_or_create_admin_token(const std::filesystem::path& data_dir) {
    auto file = data_dir / admin_token_file_name;
    // A store on PostgreSQL has no data directory of its own: this file makes one.
    std::error_code made;
    std::filesystem::create_directories(data_dir, made);
    if (made) return make_error(errc::internal, "cannot create " + data_dir.string() + ": " + made.message());
    auto created = create_exclusive(file, new_token_secret() + "\n");
    if (!created) return created.error();
    return read_admin_token(file);
}

}  // namespace chunklog::api
