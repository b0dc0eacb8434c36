// `publish`: the extension endpoint's way of publishing a batch of task
// operations: its chunks, one transaction naming them and the HEAD advance,
// in one synced request. On 409 the connection rebases on the HEAD in the
// answer and sends again, as a replica does.
#include "bench/workload_support.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <vector>

namespace chunklog::bench {
namespace {

namespace json = boost::json;

class publish_batches final : public user_workload {
public:
    explicit publish_batches(const bench_options& o)
        : user_workload(o), maker_(o.value_size, o.seed), heads_(o.connections, root_text) {}

    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned c) override {
        auto r = co_await conn.call("GET", user_path(c) + "/head", {});
        if (r.status == 200) heads_[c] = std::string(json::parse(r.body).at("head").as_string());
    }

    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        json::array chunks;
        json::array ids;
        for (unsigned i = 0; i < options_.batch; ++i) {
            auto bytes = maker_.make(c, op * options_.batch + i);
            auto id = sha256_of(bytes).to_string();
            chunks.push_back(json::object{{"id", id}, {"data", base64_encode(bytes)}});
            ids.emplace_back(id);
        }
        op_outcome result;
        result.items = options_.batch;
        for (unsigned attempt = 0; attempt < 1000; ++attempt) {
            auto tx = uuid::random().to_string();  // fresh, so a run can repeat against the same server
            auto body = publish_body(chunks, ids, tx, heads_[c]);
            auto r = co_await conn.call("POST", user_path(c) + "/publish", body);
            result.bytes += r.bytes;
            if (r.status == 200) {
                heads_[c] = tx;
                result.ok = true;
                co_return result;
            }
            if (r.status != 409) co_return outcome_of(r, 200);
            auto answer = json::parse(r.body).as_object();
            if (answer.at("error").as_string() != "conflict") co_return outcome_of(r, 200);
            ++result.conflicts;
            heads_[c] = std::string(answer.at("head").as_string());
        }
        result.error = "too many conflicts";
        co_return result;
    }

private:
    static std::string publish_body(const json::array& chunks, const json::array& ids, const std::string& tx,
                                    const std::string& parent) {
        json::object transaction{{"id", tx}, {"parent", parent}, {"chunks", ids}};
        return json::serialize(json::object{{"chunks", chunks}, {"transactions", json::array{transaction}}, {"head", tx}});
    }

    chunk_maker maker_;
    std::vector<std::string> heads_;
};

}  // namespace

std::unique_ptr<workload> make_publish_workload(const bench_options& options) {
    return std::make_unique<publish_batches>(options);
}

}  // namespace chunklog::bench
