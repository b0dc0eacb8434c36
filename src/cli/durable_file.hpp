// Reading a small file, and replacing a file so that a crash leaves either
// the old or the new contents, never a truncated mix (leveldb's
// SetCurrentFile pattern: write a temp file in the same directory, fsync it,
// rename it over the target, fsync the directory). Errors are
// errc::internal naming the file. Stateless; safe from any thread, but two
// writers of one file race (the last rename wins).
#pragma once

#include <chunklog/errors.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>

namespace chunklog::cli {

// The file's bytes; nullopt when it does not exist. A file larger than
// `max_bytes`, a directory, or one that cannot be read is an error.
outcome<std::optional<std::string>> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);

// Replaces (or creates) `path` with `bytes`, durably; creates the directory
// first. No temp file remains, whether it succeeds or not.
outcome<void> replace_file(const std::filesystem::path& path, const std::string& bytes, mode_t mode);

}  // namespace chunklog::cli
