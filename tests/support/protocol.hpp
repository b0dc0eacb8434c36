// Helpers for end-to-end tests speaking the chunklog protocol over one
// connection for one user: random ids, hashing, and the core calls. Not
// thread-safe (wraps one connection).
#pragma once

#include "support/http_client.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::test {

inline const std::string root_id_text = "00000000-0000-0000-0000-000000000000";

std::string random_uuid();
std::string sha256_hex(const std::string& bytes);
boost::json::value parse_json(const std::string& text);
// The string held by a JSON value ("" when it is not a string), for comparisons.
std::string text(const boost::json::value& v);
// The "error" code of a JSON error body ("" when there is none).
std::string error_code(const http_reply& r);

// A fresh write token of `user` on the server at `port`, issued with the
// port's default token (the admin token of a server_process).
std::string issue_token(std::uint16_t port, const std::string& user, const std::string& body = "{}");

// The value of a gauge or counter in GET /metrics (-1 when absent).
long metric(http_connection& conn, const std::string& name);
// Polls `condition` until it holds or `bound` passes; whether it held.
bool wait_until(const std::function<bool()>& condition, std::chrono::seconds bound = std::chrono::seconds(20));
// Waits until the server at `port` reports `name` equal to `value`.
bool wait_for_metric(std::uint16_t port, const std::string& name, long value);

class user_api {
public:
    user_api(http_connection& conn, std::string user = random_uuid()) : conn_(conn), user_(std::move(user)) {}

    const std::string& user() const { return user_; }
    std::string path(const std::string& rest = "") const { return "/0.1/" + user_ + rest; }

    http_reply put_chunk(const std::string& bytes);
    http_reply put_transaction(const std::string& id, const std::string& parent,
                               const std::vector<std::string>& chunk_ids);
    http_reply advance(const std::string& id);
    http_reply get(const std::string& rest);
    // One transaction with one new chunk holding `bytes` on `parent`, made HEAD, in one POST publish.
    http_reply publish_one(const std::string& id, const std::string& parent, const std::string& bytes);
    // The lines of GET log?QUERY (which must answer 200), parsed.
    std::vector<boost::json::object> log_lines(const std::string& query);

    std::string head();  // current HEAD id
    std::vector<std::string> list(const std::string& from = root_id_text, std::optional<int> limit = {});

private:
    http_connection& conn_;
    std::string user_;
};

}  // namespace chunklog::test
