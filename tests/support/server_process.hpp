// The real chunklogd of this build, started for one end-to-end test on a
// loopback port with its own data directory (see spawned_server). Unless
// started with --auth none, its admin token becomes the default bearer of
// every test request to its port (see set_port_token).
#pragma once

#include "bench/common/spawned_server.hpp"
#include "support/http_client.hpp"
#include "support/test_store.hpp"

#include <algorithm>

namespace chunklog::test {

class server_process : public spawned_server {
public:
    explicit server_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args = {},
                            std::uint16_t port = 0)
        : spawned_server(CHUNKLOGD_PATH, data_dir, with_store(data_dir, extra_args), port) {
        auto none = std::search(extra_args.begin(), extra_args.end(), none_mode.begin(), none_mode.end());
        if (none == extra_args.end()) set_port_token(this->port(), admin_token());
    }
    ~server_process() { clear_port_token(port()); }

private:
    // The tests' store (support/test_store.hpp) unless the test names one.
    static std::vector<std::string> with_store(const std::filesystem::path& data_dir, std::vector<std::string> args) {
        if (std::find(args.begin(), args.end(), "--store") != args.end()) return args;
        auto store = store_args_for(data_dir);
        args.insert(args.end(), store.begin(), store.end());
        return args;
    }

    static inline const std::vector<std::string> none_mode{"--auth", "none"};
};

}  // namespace chunklog::test
