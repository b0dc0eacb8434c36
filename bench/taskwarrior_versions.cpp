#include "bench/taskwarrior_versions.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>

#include <chrono>

namespace chunklog::bench {
namespace json = boost::json;

std::vector<operation> task_add_operations(const uuid& task, const std::string& description, std::int64_t ns) {
    auto seconds = std::to_string(ns / 1'000'000'000);
    return {operation::create(task), operation::update(task, "description", description, ns),
            operation::update(task, "status", "pending", ns), operation::update(task, "entry", seconds, ns),
            operation::update(task, "modified", seconds, ns)};
}

std::string task_add_version(const sealing_key& key, const uuid& parent, const uuid& task, std::uint64_t n,
                             std::int64_t ns) {
    auto ops = task_add_operations(task, "task " + std::to_string(n) + " of the benchmark", ns);
    return key.seal(encode_history_segment(ops), parent);
}

std::string publish_versions_body(const uuid& parent, const std::vector<std::pair<uuid, std::string>>& versions) {
    json::array chunks, transactions;
    auto previous = parent;
    for (const auto& [id, bytes] : versions) {
        auto digest_text = sha256_of(bytes).to_string();
        chunks.push_back(json::object{{"id", digest_text}, {"data", base64_encode(bytes)}});
        transactions.push_back(json::object{{"id", id.to_string()}, {"parent", previous.to_string()},
                                            {"chunks", json::array{json::string(digest_text)}}});
        previous = id;
    }
    return json::serialize(json::object{{"chunks", chunks}, {"transactions", transactions}, {"head", previous.to_string()}});
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace chunklog::bench
