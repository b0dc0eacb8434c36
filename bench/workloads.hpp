// The named workloads of chunklog-bench. Each generates its requests from a
// fixed seed; run_one performs one operation on one connection and reports
// how it went. A workload object is shared by all connections of a run, which
// all execute on one io_context thread, so no locking is needed.
#pragma once

#include "bench/bench_options.hpp"
#include "bench/load_connection.hpp"

#include <chunklog/ids.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace chunklog::bench {

struct op_outcome {
    bool ok = false;
    std::string error;       // "status 503", "connection", ... when not ok
    std::size_t bytes = 0;   // payload bytes moved
    unsigned conflicts = 0;  // 409s absorbed by retrying (publish)
    unsigned items = 1;      // documents or operations carried (batches)
};

class workload {
public:
    virtual ~workload() = default;
    // The chunklogd user whose token connection `connection` carries
    // (nullopt: no token, as for PouchDB Server).
    virtual std::optional<uuid> user_of(unsigned /*connection*/) const { return std::nullopt; }
    // Runs once per connection before the clock starts.
    virtual boost::asio::awaitable<void> prepare(load_connection&, unsigned) { co_return; }
    virtual boost::asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned connection,
                                                       std::uint64_t op) = 0;
};

// nullptr for a name that is not a load workload.
std::unique_ptr<workload> make_workload(const std::string& name, const bench_options& options);

// POST publish of options.batch chunks in one transaction, advancing HEAD.
std::unique_ptr<workload> make_publish_workload(const bench_options& options);
// PouchDB Server's POST {db}/_bulk_docs with options.batch documents.
std::unique_ptr<workload> make_pouch_bulk_docs_workload(const bench_options& options);

}  // namespace chunklog::bench
