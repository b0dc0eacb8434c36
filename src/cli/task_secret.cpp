#include "cli/task_secret.hpp"

#include "cli/durable_file.hpp"

#include <cstdlib>

namespace chunklog::cli {

outcome<std::optional<std::string>> find_encryption_secret(const global_options& globals,
                                                           const std::filesystem::path& replica_dir) {
    if (globals.encryption_secret) return globals.encryption_secret;
    if (const char* env = std::getenv("CHUNKLOG_ENCRYPTION_SECRET"); env && *env) return std::optional<std::string>(env);
    auto saved = read_small_file(replica_dir / secret_file_name, 4096);
    if (!saved) return saved.error();
    if (*saved && !(*saved)->empty() && (*saved)->back() == '\n') (*saved)->pop_back();
    if (*saved && (*saved)->empty()) return std::optional<std::string>{};
    return *saved;
}

outcome<void> save_encryption_secret(const std::filesystem::path& replica_dir, const std::string& secret) {
    if (secret.empty() || secret.find_first_of("\r\n") != std::string::npos)
        return make_error(errc::bad_request, "an encryption secret must be one line, not empty");
    return replace_file(replica_dir / secret_file_name, secret + "\n", 0600);
}

std::string no_secret_message() {
    return "no encryption secret: pass --encryption-secret SECRET, set CHUNKLOG_ENCRYPTION_SECRET, or save one with "
           "`chunklog task config encryption-secret SECRET` (every replica of the task list, Taskwarrior's too, "
           "needs the same one: Taskwarrior's sync.encryption_secret)";
}

}  // namespace chunklog::cli
