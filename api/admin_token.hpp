// The admin token (protocol section 7): the first line of a file the
// operator names, or a token the server creates once in its data directory
// (mode 0600, written and synced before use) and reuses on later starts.
// The secret is never logged. Start-up only; not thread-safe.
#pragma once

#include <chunklog/errors.hpp>

#include <filesystem>
#include <string>

namespace chunklog::api {

// The file in the data directory that holds the created admin token.
inline constexpr const char* admin_token_file_name = "admin-token";

// The first line of `file`; an error naming the file when it cannot be read
// or the line is not a valid token (printable ASCII, no spaces, 1-256 chars).
outcome<std::string> read_admin_token(const std::filesystem::path& file);

// DATA_DIR/admin-token, created with a fresh token when missing.
outcome<std::string> load_or_create_admin_token(const std::filesystem::path& data_dir);

}  // namespace chunklog::api
