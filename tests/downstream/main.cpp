// Uses the public client API as an outside project would: an unreachable
// server must come back as a typed network error.
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <iostream>

int main() {
    chunklog::client_options options;
    options.server_url = "http://127.0.0.1:1";
    options.user = chunklog::uuid::random();
    options.retries = 0;
    chunklog::client c(options);
    auto head = c.head();
    bool ok = !head && head.error().code == chunklog::errc::network &&
              chunklog::sha256_of("abc").to_string().starts_with("ba7816bf");
    std::cout << (ok ? "downstream ok" : "downstream FAILED") << '\n';
    return ok ? 0 : 1;
}
