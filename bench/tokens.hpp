// The bearer tokens chunklog-bench sends (protocol section 7). Holding the
// admin token of a server it started, the book makes one write token per
// user through POST /0.1/{user}/tokens the first time that user is asked
// for, so each connection authenticates as its user's own device would (not
// through the admin shortcut). Otherwise it hands out the one token it was
// given (--token) for every user, or none. Not thread-safe: use it from
// main's thread, before a workload's connections start.
#pragma once

#include "bench/load_connection.hpp"

#include <chunklog/client.hpp>
#include <chunklog/ids.hpp>

#include <map>
#include <string>

namespace chunklog::bench {

class token_book {
public:
    // admin_token: the spawned server's ("" when the bench has none);
    // shared_token: sent for every user when there is no admin token.
    token_book(const server_link& link, std::string admin_token, std::string shared_token);

    // The token of requests under /0.1/{user} ("" for none). Throws
    // std::runtime_error when the server refuses to make one.
    const std::string& for_user(const uuid& user);
    const std::string& admin() const { return admin_; }  // for /metrics and /admin
    const server_link& link() const { return link_; }

    // Options of a chunklog::client for `user` carrying its token.
    client_options client_for(const uuid& user);

private:
    const server_link& link_;
    std::string admin_;
    std::string shared_;
    std::map<uuid, std::string> made_;
};

}  // namespace chunklog::bench
