// The real chunklogd of this build, started for one end-to-end test on a
// loopback port with its own data directory (see spawned_server).
#pragma once

#include "bench/common/spawned_server.hpp"

namespace chunklog::test {

class server_process : public spawned_server {
public:
    explicit server_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args = {},
                            std::uint16_t port = 0)
        : spawned_server(CHUNKLOGD_PATH, data_dir, std::move(extra_args), port) {}
};

}  // namespace chunklog::test
