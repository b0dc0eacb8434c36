// A fixture for end-to-end tests: a real chunklogd on a fresh directory, one
// keep-alive connection to it, and a random user on that connection.
#pragma once

#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

namespace chunklog::test {

struct live_server {
    temp_dir dir;
    server_process server{dir.path() / "db"};
    http_connection conn{server.port()};
    user_api api{conn};
};

}  // namespace chunklog::test
