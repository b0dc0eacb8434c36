#include "support/protocol.hpp"

#include <stdexcept>

#include <thread>

#include <chunklog/base64.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <random>

namespace chunklog::test {

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    uuid::bytes_type bytes{};
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    return uuid{bytes}.to_string();
}

std::string sha256_hex(const std::string& bytes) { return sha256_of(bytes).to_string(); }

boost::json::value parse_json(const std::string& text) { return boost::json::parse(text); }

std::string text(const boost::json::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string{}; }

std::string error_code(const http_reply& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error")) return {};
    return std::string(v.at("error").as_string());
}

http_reply user_api::put_chunk(const std::string& bytes) {
    return conn_.request("PUT", path("/chunks/" + sha256_hex(bytes)), bytes);
}

http_reply user_api::put_transaction(const std::string& id, const std::string& parent,
                                     const std::vector<std::string>& chunk_ids) {
    boost::json::array chunks(chunk_ids.begin(), chunk_ids.end());
    boost::json::object body{{"parent", parent}, {"chunks", chunks}};
    return conn_.request("PUT", path("/transactions/" + id), boost::json::serialize(body));
}

http_reply user_api::advance(const std::string& id) {
    return conn_.request("PUT", path("/head"), boost::json::serialize(boost::json::object{{"head", id}}));
}

http_reply user_api::get(const std::string& rest) { return conn_.request("GET", path(rest)); }

http_reply user_api::publish_one(const std::string& id, const std::string& parent, const std::string& bytes) {
    boost::json::object body{
        {"chunks", boost::json::array{{{"id", sha256_hex(bytes)}, {"data", base64_encode(bytes)}}}},
        {"transactions",
         boost::json::array{{{"id", id}, {"parent", parent}, {"chunks", boost::json::array{sha256_hex(bytes)}}}}},
        {"head", id}};
    return conn_.request("POST", path("/publish"), boost::json::serialize(body));
}

std::vector<boost::json::object> user_api::log_lines(const std::string& query) {
    auto r = get("/log?" + query);
    if (r.status != 200) throw std::runtime_error("GET log answered " + std::to_string(r.status) + ": " + r.body);
    std::vector<boost::json::object> out;
    std::size_t start = 0;
    for (auto nl = r.body.find('\n'); nl != std::string::npos; start = nl + 1, nl = r.body.find('\n', start))
        out.push_back(parse_json(r.body.substr(start, nl - start)).as_object());
    return out;
}

std::string user_api::head() {
    auto r = get("/head");
    return std::string(parse_json(r.body).at("head").as_string());
}

std::vector<std::string> user_api::list(const std::string& from, std::optional<int> limit) {
    std::string target = "/transactions?from=" + from;
    if (limit) target += "&limit=" + std::to_string(*limit);
    auto r = get(target);
    std::vector<std::string> ids;
    if (r.status != 200) return ids;
    auto listing = parse_json(r.body);
    for (const auto& v : listing.at("transactions").as_array()) ids.emplace_back(v.as_string());
    return ids;
}

std::string issue_token(std::uint16_t port, const std::string& user, const std::string& body) {
    auto r = http_call(port, "POST", "/0.1/" + user + "/tokens", body);
    if (r.status != 201) throw std::runtime_error("cannot issue a token: " + std::to_string(r.status) + " " + r.body);
    return text(parse_json(r.body).at("token"));
}

long metric(http_connection& conn, const std::string& name) {
    auto body = "\n" + conn.request("GET", "/metrics").body;
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stol(body.substr(at + name.size() + 2));
}

bool wait_until(const std::function<bool()>& condition, std::chrono::seconds bound) {
    auto give_up = std::chrono::steady_clock::now() + bound;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool wait_for_metric(std::uint16_t port, const std::string& name, long value) {
    http_connection conn(port);
    return wait_until([&] { return metric(conn, name) == value; });
}

}  // namespace chunklog::test
