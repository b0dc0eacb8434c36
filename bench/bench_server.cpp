#include "bench/bench_server.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace chunklog::bench {
namespace {

std::filesystem::path sibling_binary(const char* name) {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

// A self-signed P-256 certificate for 127.0.0.1 and localhost, made by the
// openssl command line, for a spawned server's HTTPS listener; the
// certificate is also the CA file the bench verifies it against.
struct certificate_files {
    std::filesystem::path cert, key;
};

certificate_files make_certificate(const std::filesystem::path& stem) {
    certificate_files files{stem.string() + "-cert.pem", stem.string() + "-key.pem"};
    auto command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7"
                   " -subj /CN=chunklog-bench -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
                   files.key.string() + "' -out '" + files.cert.string() + "' >'" + stem.string() +
                   "-openssl.log' 2>&1";
    if (std::system(command.c_str()) != 0)
        throw std::runtime_error("cannot make a certificate with the openssl command; see " + stem.string() +
                                 "-openssl.log");
    std::filesystem::remove(stem.string() + "-openssl.log");
    return files;
}

// The admin token of a spawned server: the one it made in its data
// directory, or the first line of the --admin-token-file it was given.
std::string spawned_admin_token(const spawned_server& server, const bench_options& options) {
    if (auto made = server.admin_token(); !made.empty()) return made;
    const auto& a = options.server_args;
    for (std::size_t i = 0; i + 1 < a.size(); ++i)
        if (a[i] == "--admin-token-file") {
            std::ifstream in(a[i + 1]);
            std::string line;
            std::getline(in, line);
            return line;
        }
    return {};
}

}  // namespace

bench_server::scratch_files::~scratch_files() {
    if (data_dir.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(data_dir, ignored);
    for (const char* suffix : {".log", "-cert.pem", "-key.pem"})
        std::filesystem::remove(data_dir.string() + suffix, ignored);
}

bench_server::bench_server(bench_options& options, const std::vector<std::string>& workload_args,
                           const std::string& tag) {
    scratch_.data_dir = std::filesystem::temp_directory_path() / ("chunklog-bench-" + std::to_string(::getpid()) + tag);
    auto args = options.server_args;
    args.insert(args.begin(), {"--log-level", "warn"});
    args.insert(args.end(), workload_args.begin(), workload_args.end());
    if (spawned_with_certificate(options)) {
        options.tls = true;
    } else if (options.tls) {
        auto certificate = make_certificate(scratch_.data_dir);
        args.insert(args.end(), {"--tls-cert", certificate.cert.string(), "--tls-key", certificate.key.string()});
        options.ca_file = certificate.cert.string();
    }
    server_ = std::make_unique<spawned_server>(sibling_binary("chunklogd").string(), scratch_.data_dir, args);
    options.host = "127.0.0.1";
    options.port = server_->port();
    if (!spawned_without_auth(options)) admin_token_ = spawned_admin_token(*server_, options);
}

bench_server::~bench_server() = default;

void bench_server::stop() {
    if (server_->running()) server_->terminate_and_wait(SIGTERM);
}

}  // namespace chunklog::bench
