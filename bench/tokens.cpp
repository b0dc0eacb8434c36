#include "bench/tokens.hpp"

#include <stdexcept>

namespace chunklog::bench {

token_book::token_book(const server_link& link, std::string admin_token, std::string shared_token)
    : link_(link), admin_(std::move(admin_token)), shared_(std::move(shared_token)) {}

const std::string& token_book::for_user(const uuid& user) {
    if (admin_.empty()) return shared_;
    auto found = made_.find(user);
    if (found != made_.end()) return found->second;
    client_options o;
    o.server_url = link_.url();
    o.user = user;
    o.token = admin_;
    o.ca_file = link_.ca_file();
    auto made = client(o).create_token("chunklog-bench");
    if (!made) throw std::runtime_error("cannot make a token for user " + user.to_string() + ": " + made.error().message);
    return made_.emplace(user, made->token).first->second;
}

client_options token_book::client_for(const uuid& user) {
    client_options o;
    o.server_url = link_.url();
    o.user = user;
    o.token = for_user(user);
    o.ca_file = link_.ca_file();
    return o;
}

}  // namespace chunklog::bench
