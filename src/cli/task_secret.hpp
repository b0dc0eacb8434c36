// The task list's encryption secret for `chunklog task`: from
// --encryption-secret, else CHUNKLOG_ENCRYPTION_SECRET, else the file
// "encryption-secret" in the replica directory (written by `chunklog task
// config encryption-secret SECRET`, mode 0600). Every replica of the task
// list, Taskwarrior's included, needs the same one. The secret is never
// printed or sent. Single-threaded.
#pragma once

#include "cli/options.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace chunklog::cli {

inline constexpr const char* secret_file_name = "encryption-secret";

// The secret in force; nullopt when none is set anywhere.
outcome<std::optional<std::string>> find_encryption_secret(const global_options& globals,
                                                           const std::filesystem::path& replica_dir);

// Saves the secret in the replica directory; refuses an empty one or one
// with a line break.
outcome<void> save_encryption_secret(const std::filesystem::path& replica_dir, const std::string& secret);

// What to tell a user who has none.
std::string no_secret_message();

}  // namespace chunklog::cli
