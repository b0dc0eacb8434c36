// Uses the installed public API as an outside project would: an unreachable
// server must come back as a typed network error, and a task replica opens,
// records a task and reads it back.
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/tasks/replica.hpp>
#include <chunklog/version.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    chunklog::client_options options;
    options.server_url = "http://127.0.0.1:1";
    options.user = chunklog::uuid::random();
    options.retries = 0;
    chunklog::client c(options);
    auto head = c.head();
    bool ok = !head && head.error().code == chunklog::errc::network &&
              chunklog::sha256_of("abc").to_string().starts_with("ba7816bf") &&
              std::string(chunklog::software_version).size() > 0;

    std::filesystem::path dir = argc > 1 ? argv[1] : "downstream-replica";
    std::filesystem::remove_all(dir);
    auto r = chunklog::replica::open(dir);
    ok = ok && r.has_value();
    if (ok) {
        auto id = chunklog::uuid::random();
        auto committed = (*r)->commit({chunklog::operation::create(id)});
        auto tasks = (*r)->tasks();
        ok = committed.has_value() && tasks.has_value() && tasks->size() == 1;
    }
    std::cout << (ok ? "downstream ok" : "downstream FAILED") << '\n';
    return ok ? 0 : 1;
}
