// A chunklogd that chunklog-bench starts (--spawn) on a fresh temporary
// directory: the run's shared server, or one of its own for a workload that
// needs server flags of its own (gc, bootstrap). It gets the --server-arg
// flags plus the workload's, and under --tls a throwaway self-signed
// certificate. The server is stopped, and its files removed, when the object
// dies. Single owner; not thread-safe: create it on main's thread, which
// must outlive it (the child is killed when the thread that started it
// exits).
#pragma once

#include "bench/bench_options.hpp"
#include "bench/common/spawned_server.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace chunklog::bench {

class bench_server {
public:
    // Starts the server and points `options` at it (host, port, tls,
    // ca_file). `tag` names its temporary files. Throws std::exception when
    // it cannot start.
    bench_server(bench_options& options, const std::vector<std::string>& workload_args, const std::string& tag);
    ~bench_server();
    bench_server(const bench_server&) = delete;
    bench_server& operator=(const bench_server&) = delete;

    // Its admin token ("" under --auth none).
    const std::string& admin_token() const { return admin_token_; }
    long rss_kib() const { return server_->rss_kib(); }
    // SIGTERM, and waits for it to exit.
    void stop();

private:
    // Declared first, so the server is stopped before its files go.
    struct scratch_files {
        std::filesystem::path data_dir;
        ~scratch_files();
    } scratch_;
    std::unique_ptr<spawned_server> server_;
    std::string admin_token_;
};

}  // namespace chunklog::bench
