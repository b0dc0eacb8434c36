#include "bench/workloads.hpp"

#include "bench/taskchampion_workloads.hpp"
#include "bench/workload_support.hpp"

#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

namespace chunklog::bench {
namespace {

constexpr const char* octet_stream = "application/octet-stream";

class put_chunks final : public user_workload {
public:
    explicit put_chunks(const bench_options& o) : user_workload(o), maker_(o.value_size, o.seed) {}
    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto bytes = maker_.make(c, op);
        auto r = co_await conn.call("PUT", user_path(c) + "/chunks/" + sha256_of(bytes).to_string(), bytes, octet_stream);
        co_return outcome_of(r, 201, 200);
    }

private:
    chunk_maker maker_;
};

class get_chunks final : public user_workload {
public:
    static constexpr unsigned chunks_per_connection = 32;
    explicit get_chunks(const bench_options& o) : user_workload(o), maker_(o.value_size, o.seed) {}
    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        for (unsigned i = 0; i < chunks_per_connection; ++i) {
            auto bytes = maker_.make(c, i);
            co_await conn.call("PUT", target(c, i), bytes, octet_stream);
        }
    }
    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto r = co_await conn.call("GET", target(c, static_cast<unsigned>(op % chunks_per_connection)), {});
        co_return outcome_of(r, 200);
    }

private:
    std::string target(unsigned c, unsigned i) const {
        return user_path(c) + "/chunks/" + sha256_of(maker_.make(c, i)).to_string();
    }
    chunk_maker maker_;
};

// The core protocol way: PUT chunk, PUT transaction, PUT head (three synced
// requests); on 409, rebase on the new HEAD and retry.
class publish_core final : public user_workload {
public:
    explicit publish_core(const bench_options& o) : user_workload(o), maker_(o.value_size, o.seed), heads_(o.connections) {}
    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        auto r = co_await conn.call("GET", user_path(c) + "/head", {});
        heads_[c] = r.status == 200 ? std::string(boost::json::parse(r.body).at("head").as_string()) : root_text;
    }
    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto base = user_path(c);
        auto bytes = maker_.make(c, op);
        auto id = sha256_of(bytes).to_string();
        auto put = co_await conn.call("PUT", base + "/chunks/" + id, bytes, octet_stream);
        if (put.status != 201 && put.status != 200) co_return outcome_of(put, 201);
        op_outcome result;
        result.ok = true;
        result.bytes = put.bytes;
        for (unsigned attempt = 0; attempt < 1000; ++attempt) {
            auto tx = uuid::random().to_string();  // fresh, so a run can repeat against the same server
            auto body = boost::json::serialize(boost::json::object{{"parent", heads_[c]}, {"chunks", boost::json::array{boost::json::string(id)}}});
            auto created = co_await conn.call("PUT", base + "/transactions/" + tx, body);
            if (created.status != 201) co_return outcome_of(created, 201);
            // Built outside the co_await: g++ 12 cannot keep initializer lists alive across it.
            auto advance_body = boost::json::serialize(boost::json::object{{"head", tx}});
            auto advanced = co_await conn.call("PUT", base + "/head", advance_body);
            result.bytes += created.bytes + advanced.bytes;
            if (advanced.status == 204) {
                heads_[c] = tx;
                co_return result;
            }
            if (advanced.status != 409) co_return outcome_of(advanced, 204);
            ++result.conflicts;
            heads_[c] = std::string(boost::json::parse(advanced.body).at("head").as_string());
        }
        result.ok = false;
        result.error = "too many conflicts";
        co_return result;
    }

private:
    chunk_maker maker_;
    std::vector<std::string> heads_;
};

}  // namespace

std::unique_ptr<workload> make_workload(const std::string& name, const bench_options& options) {
    if (name == "put-chunks") return std::make_unique<put_chunks>(options);
    if (name == "get-chunks") return std::make_unique<get_chunks>(options);
    if (name == "publish") return make_publish_workload(options);
    if (name == "publish-core") return std::make_unique<publish_core>(options);
    if (name == "pouch-bulk-docs") return make_pouch_bulk_docs_workload(options);
    return make_taskchampion_workload(name, options);
}

}  // namespace chunklog::bench
