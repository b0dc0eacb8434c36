#include "workloads.hpp"

#include <chunklog/ids.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <random>

namespace chunklog::bench {
namespace {

const std::string root = "00000000-0000-0000-0000-000000000000";

std::string seeded_uuid(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    uuid::bytes_type b{};
    for (auto& byte : b) byte = static_cast<std::uint8_t>(rng());
    return uuid{b}.to_string();
}

// Unique bytes of the given size: a counter prefix over a seeded pattern.
class chunk_maker {
public:
    chunk_maker(std::size_t size, std::uint64_t seed) : pattern_(size, '\0') {
        std::mt19937_64 rng(seed);
        for (auto& c : pattern_) c = static_cast<char>(rng());
    }
    std::string make(std::uint64_t a, std::uint64_t b) const {
        std::string bytes = pattern_;
        auto tag = std::to_string(a) + ":" + std::to_string(b) + ":";
        bytes.replace(0, std::min(tag.size(), bytes.size()), tag.substr(0, bytes.size()));
        return bytes;
    }

private:
    std::string pattern_;
};

op_outcome outcome_of(const http_result& r, unsigned expected, unsigned also_ok = 0) {
    if (r.status == expected || (also_ok != 0 && r.status == also_ok)) return {true, {}, r.bytes, 0};
    return {false, r.status == 0 ? "connection" : "status " + std::to_string(r.status), r.bytes, 0};
}

class user_workload : public workload {
protected:
    explicit user_workload(const bench_options& o) : options_(o) {}
    std::string user_path(unsigned connection) const {
        return "/0.1/" + seeded_uuid(options_.seed * 7919 + connection % options_.users);
    }
    const bench_options& options_;
};

class put_chunks final : public user_workload {
public:
    explicit put_chunks(const bench_options& o) : user_workload(o), maker_(o.value_size, o.seed) {}
    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto bytes = maker_.make(c, op);
        auto r = co_await conn.call("PUT", user_path(c) + "/chunks/" + sha256_of(bytes).to_string(), bytes);
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
            co_await conn.call("PUT", target(c, i), bytes);
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

// Chunk, transaction and HEAD advance; on 409, rebase on the new HEAD and retry.
class publish final : public user_workload {
public:
    explicit publish(const bench_options& o) : user_workload(o), maker_(o.value_size, o.seed), heads_(o.connections) {}
    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        auto r = co_await conn.call("GET", user_path(c) + "/head", {});
        heads_[c] = r.status == 200 ? std::string(boost::json::parse(r.body).at("head").as_string()) : root;
    }
    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto base = user_path(c);
        auto bytes = maker_.make(c, op);
        auto id = sha256_of(bytes).to_string();
        auto put = co_await conn.call("PUT", base + "/chunks/" + id, bytes);
        if (put.status != 201 && put.status != 200) co_return outcome_of(put, 201);
        op_outcome result;
        result.ok = true;
        result.bytes = put.bytes;
        for (unsigned attempt = 0; attempt < 1000; ++attempt) {
            auto tx = seeded_uuid(options_.seed ^ (op << 20) ^ (std::uint64_t{c} << 8) ^ attempt ^ 0x5eed);
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
    if (name == "publish") return std::make_unique<publish>(options);
    return nullptr;
}

}  // namespace chunklog::bench
