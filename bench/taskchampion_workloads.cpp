#include "bench/taskchampion_workloads.hpp"

#include "bench/taskwarrior_versions.hpp"
#include "bench/workload_support.hpp"

#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <map>

namespace chunklog::bench {
namespace {

namespace json = boost::json;

constexpr const char* segment_type = "application/vnd.taskchampion.history-segment";
constexpr std::size_t chain_length = 1000;       // versions the read rows walk over
constexpr std::size_t chain_per_publish = 250;   // of them in one POST publish
constexpr unsigned max_attempts = 1000;          // per operation, on 409

// The key of `user`, derived once per run for all five rows (a third of a
// second each). Workloads are made on main's thread only: no locking.
const sealing_key& key_for(const uuid& user) {
    static std::map<uuid, sealing_key> keys;
    auto found = keys.find(user);
    if (found == keys.end()) found = keys.emplace(user, sealing_key::derive(bench_encryption_secret, user)).first;
    return found->second;
}

// The user's keys and the TaskChampion headers: the part the five rows share.
class taskchampion_base : public user_workload {
protected:
    explicit taskchampion_base(const bench_options& o) : user_workload(o) {
        for (unsigned u = 0; u < std::min(o.users, o.connections); ++u) {
            auto user = *user_of(u);
            keys_.emplace(user, key_for(user));
        }
    }
    const sealing_key& key_of(unsigned c) const { return keys_.at(*user_of(c)); }
    header_list client_id(unsigned c) const { return {{"X-Client-Id", user_of(c)->to_string()}}; }
    std::string version(unsigned c, const uuid& parent, std::uint64_t n) const {
        return task_add_version(key_of(c), parent, uuid::random(), n, now_ns());
    }
    // The user's HEAD (ROOT for a new user).
    boost::asio::awaitable<uuid> head_of(load_connection& conn, unsigned c) {
        auto r = co_await conn.call("GET", user_path(c) + "/head", {});
        if (r.status != 200) co_return root_id;
        auto head = uuid::parse(std::string(json::parse(r.body).at("head").as_string()));
        co_return head ? *head : root_id;
    }

private:
    std::map<uuid, sealing_key> keys_;
};

// tc-add-version and tc-publish: one new version on the connection's base.
class add_versions final : public taskchampion_base {
public:
    add_versions(const bench_options& o, bool native) : taskchampion_base(o), native_(native), bases_(o.connections) {}

    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        bases_[c] = co_await head_of(conn, c);
    }

    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        op_outcome result;
        for (unsigned attempt = 0; attempt < max_attempts; ++attempt) {
            auto bytes = version(c, bases_[c], op);
            http_result r;
            uuid next = uuid::random();
            if (native_) {
                auto body = publish_versions_body(bases_[c], {{next, bytes}});
                r = co_await conn.call("POST", user_path(c) + "/publish", body);
            } else {
                auto target = "/v1/client/add-version/" + bases_[c].to_string();
                r = co_await conn.call("POST", target, bytes, segment_type, client_id(c));
            }
            result.bytes += r.bytes;
            if (r.status == 200) {
                if (!native_) {
                    auto id = uuid::parse(r.header("X-Version-Id"));
                    if (!id) co_return op_outcome{false, "no X-Version-Id", result.bytes, result.conflicts};
                    next = *id;
                }
                bases_[c] = next;
                result.ok = true;
                co_return result;
            }
            if (r.status != 409) co_return outcome_of(r, 200);
            ++result.conflicts;
            auto parsed = uuid::parse(native_ ? conflict_head(r.body) : r.header("X-Parent-Version-Id"));
            if (!parsed) co_return op_outcome{false, "409 without the HEAD", result.bytes, result.conflicts};
            bases_[c] = *parsed;
        }
        result.error = "too many conflicts";
        co_return result;
    }

private:
    // The HEAD of a 409 conflict answer to POST publish ("" for another 409).
    static std::string conflict_head(const std::string& body) {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        if (ec || !v.is_object()) return {};
        const auto& o = v.as_object();
        auto error = o.if_contains("error");
        auto head = o.if_contains("head");
        if (error == nullptr || !error->is_string() || error->as_string() != "conflict" || head == nullptr ||
            !head->is_string())
            return {};
        return std::string(head->as_string());
    }

    bool native_;
    std::vector<uuid> bases_;
};

// tc-get-child, tc-get-log and tc-get-chunk: reads over a chain of versions
// that the first connection of each user publishes in prepare().
class read_versions final : public taskchampion_base {
public:
    enum class way { get_child, get_log, get_chunk };
    read_versions(const bench_options& o, way w) : taskchampion_base(o), way_(w) {}

    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        if (c >= options_.users) co_return;  // the user's first connection builds its chain
        auto& chain = chains_[c];
        auto parent = co_await head_of(conn, c);
        while (chain.size() < chain_length) {
            std::vector<std::pair<uuid, std::string>> versions;
            auto base = parent;
            for (std::size_t i = 0; i < chain_per_publish && chain.size() + versions.size() < chain_length; ++i) {
                versions.emplace_back(uuid::random(), version(c, base, chain.size() + i));
                base = versions.back().first;
            }
            auto body = publish_versions_body(parent, versions);
            auto r = co_await conn.call("POST", user_path(c) + "/publish", body);
            if (r.status != 200) {  // every run_one then reports it
                prepare_errors_[c] = "publishing the chain: " + outcome_of(r, 200).error;
                co_return;
            }
            for (auto& [id, bytes] : versions) {
                chain.push_back({parent, sha256_of(bytes)});
                parent = id;
            }
        }
    }

    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        const auto& chain = chains_[c % options_.users];
        if (chain.size() < chain_length) co_return op_outcome{false, prepare_errors_[c % options_.users], 0, 0};
        const auto& link = chain[(op + c * 97) % chain.size()];
        http_result r;
        if (way_ == way::get_child) {
            auto target = "/v1/client/get-child-version/" + link.parent.to_string();
            r = co_await conn.call("GET", target, {}, "", client_id(c));
        } else if (way_ == way::get_log) {
            auto target = user_path(c) + "/log?from=" + link.parent.to_string() + "&limit=1";
            r = co_await conn.call("GET", target, {});
        } else {
            r = co_await conn.call("GET", user_path(c) + "/chunks/" + link.chunk.to_string(), {});
        }
        co_return outcome_of(r, 200);
    }

private:
    struct chain_link {
        uuid parent;   // get-child-version and log from here
        digest chunk;  // the child's bytes
    };
    way way_;
    std::map<unsigned, std::vector<chain_link>> chains_;  // by user index
    std::map<unsigned, std::string> prepare_errors_;      // by user index
};

}  // namespace

const std::vector<std::string> taskchampion_parts{"tc-add-version", "tc-publish", "tc-get-child", "tc-get-log",
                                                  "tc-get-chunk"};

std::unique_ptr<workload> make_taskchampion_workload(const std::string& name, const bench_options& options) {
    if (name == "tc-add-version") return std::make_unique<add_versions>(options, false);
    if (name == "tc-publish") return std::make_unique<add_versions>(options, true);
    if (name == "tc-get-child") return std::make_unique<read_versions>(options, read_versions::way::get_child);
    if (name == "tc-get-log") return std::make_unique<read_versions>(options, read_versions::way::get_log);
    if (name == "tc-get-chunk") return std::make_unique<read_versions>(options, read_versions::way::get_chunk);
    return nullptr;
}

}  // namespace chunklog::bench
