// The PouchDB Server side of the comparison (a CouchDB-protocol sync
// server): the same payloads as chunklog's publish, sent as JSON documents
// through POST {db}/_bulk_docs, and pulled back through
// GET {db}/_changes?include_docs=true.
#include "bench/pouch_workloads.hpp"

#include "bench/delay_relay.hpp"
#include "bench/workload_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <vector>
#include <stdexcept>

namespace chunklog::bench {
namespace {

namespace json = boost::json;

// A fresh database per run, so document ids never collide with an earlier run's.
std::string database(const bench_options& o, const char* purpose) {
    auto run = std::chrono::system_clock::now().time_since_epoch().count();
    return "/chunklog-bench-" + std::string(purpose) + "-" + std::to_string(o.seed) + "-" + std::to_string(run);
}

// B documents {"_id", "payload"} with unique ids and letter payloads.
std::string bulk_docs_body(const chunk_maker& maker, std::uint64_t a, std::uint64_t first, unsigned count) {
    json::array docs;
    for (unsigned i = 0; i < count; ++i) {
        auto n = first + i;
        docs.push_back(json::object{{"_id", "doc-" + std::to_string(a) + "-" + std::to_string(n)},
                                    {"payload", maker.make(a, n)}});
    }
    return json::serialize(json::object{{"docs", std::move(docs)}});
}

boost::asio::awaitable<void> create_database(load_connection& conn, const std::string& db) {
    auto r = co_await conn.call("PUT", db, {});
    if (r.status != 201 && r.status != 412) throw std::runtime_error("PouchDB Server: cannot create " + db);
}

class pouch_bulk_docs final : public workload {
public:
    explicit pouch_bulk_docs(const bench_options& o)
        : options_(o), maker_(o.value_size, o.seed, chunk_maker::alphabet::letters), db_(database(o, "bulk")) {}

    boost::asio::awaitable<void> prepare(load_connection& conn, unsigned) override {
        co_await create_database(conn, db_);
    }

    boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t op) override {
        auto body = bulk_docs_body(maker_, c, op * options_.batch, options_.batch);
        auto r = co_await conn.call("POST", db_ + "/_bulk_docs", body);
        auto outcome = outcome_of(r, 201);
        outcome.items = options_.batch;
        co_return outcome;
    }

private:
    const bench_options& options_;
    chunk_maker maker_;
    std::string db_;
};

boost::asio::awaitable<pull_result> pouch_pull(load_connection& conn, const bench_options& o, std::size_t count) {
    chunk_maker maker(std::min<std::size_t>(o.value_size, 1024), o.seed, chunk_maker::alphabet::letters);
    auto db = database(o, "pull");
    co_await create_database(conn, db);
    constexpr unsigned per_request = 500;
    for (std::size_t done = 0; done < count; done += per_request) {
        auto n = static_cast<unsigned>(std::min<std::size_t>(per_request, count - done));
        auto r = co_await conn.call("POST", db + "/_bulk_docs", bulk_docs_body(maker, 0, done, n));
        if (r.status != 201) throw std::runtime_error("PouchDB Server: _bulk_docs failed while preparing the pull");
    }
    std::vector<pull_result> runs;
    for (int i = 0; i < pull_repetitions; ++i) {
        auto bytes_before = delay_relay::bytes_carried();
        auto started = std::chrono::steady_clock::now();
        auto r = co_await conn.call("GET", db + "/_changes?include_docs=true", {});
        if (r.status != 200) throw std::runtime_error("PouchDB Server: _changes failed");
        auto changes = json::parse(r.body);
        std::uint64_t documents = 0;
        for (const auto& change : changes.at("results").as_array())
            if (change.as_object().contains("doc")) ++documents;
        auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        runs.push_back({"PouchDB _changes?include_docs=true", documents, 1, seconds,
                        delay_relay::bytes_carried() - bytes_before});
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
    co_return runs[runs.size() / 2];
}

}  // namespace

std::unique_ptr<workload> make_pouch_bulk_docs_workload(const bench_options& options) {
    return std::make_unique<pouch_bulk_docs>(options);
}

pull_result run_pouch_pull(const bench_options& options, std::size_t count) {
    boost::asio::io_context ioc(1);
    server_link link(options);
    load_connection conn(ioc, link);
    auto result = boost::asio::co_spawn(ioc, pouch_pull(conn, options, count), boost::asio::use_future);
    ioc.run();
    return result.get();
}

}  // namespace chunklog::bench
