#include "bench/pull_compare.hpp"

#include "bench/delay_relay.hpp"

#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace chunklog::bench {
namespace {

using clock_type = std::chrono::steady_clock;

void publish_chain(client& c, std::size_t count, std::size_t value_size) {
    constexpr std::size_t per_publish = 500;
    uuid parent = root_id;
    for (std::size_t done = 0; done < count;) {
        publish_batch batch;
        for (std::size_t i = 0; i < per_publish && done < count; ++i, ++done) {
            std::string bytes = "operation batch " + std::to_string(done);
            bytes.resize(std::max(bytes.size(), value_size), '.');
            transaction_record t{uuid::random(), parent, 0, {sha256_of(bytes)}};
            batch.chunks.push_back(std::move(bytes));
            batch.transactions.push_back(t);
            parent = t.id;
        }
        batch.head = parent;
        if (!c.publish(batch)) throw std::runtime_error("publish failed while preparing the pull workload");
    }
}

// Runs the pull `repetitions` times and keeps the median time: on loopback
// one pull of a few thousand transactions takes a fraction of a second,
// where one scheduling hiccup on a busy machine would otherwise decide the
// ratio.
template <typename F>
pull_result timed(const char* method, client& c, int repetitions, F pull) {
    std::vector<pull_result> runs;
    for (int i = 0; i < repetitions; ++i) {
        auto requests_before = c.requests_sent();
        auto bytes_before = delay_relay::bytes_carried();
        auto started = clock_type::now();
        auto transactions = pull();
        runs.push_back({method, transactions, c.requests_sent() - requests_before,
                        std::chrono::duration<double>(clock_type::now() - started).count(),
                        delay_relay::bytes_carried() - bytes_before});
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
    return runs[runs.size() / 2];
}

// The prototype's way: list the ids page by page, then GET every
// transaction and every chunk.
std::uint64_t pull_prototype(client& c) {
    std::uint64_t n = 0;
    uuid from = root_id;
    for (;;) {
        auto page = c.list(from, 1000);
        if (!page || page->empty()) return n;
        for (const auto& id : *page) {
            auto t = c.transaction(id);
            if (!t) throw std::runtime_error("GET transaction failed");
            for (const auto& chunk : t->chunks)
                if (!c.get_chunk(chunk)) throw std::runtime_error("GET chunk failed");
            ++n;
        }
        from = page->back();
    }
}

std::uint64_t pull_log(client& c, std::size_t page_size) {
    std::uint64_t n = 0;
    auto last = c.pull(root_id, [&](const pulled_transaction&) -> outcome<void> {
        ++n;
        return {};
    }, page_size);
    if (!last) throw std::runtime_error("GET log failed");
    return n;
}

}  // namespace

std::vector<pull_result> run_pull_comparison(const bench_options& options, std::size_t count, token_book& tokens) {
    client c(tokens.client_for(uuid::random()));
    publish_chain(c, count, std::min<std::size_t>(options.value_size, 1024));
    // Across a wide-area round trip the network sets the time, and the
    // prototype's way takes minutes: once is enough.
    int repetitions = options.rtt_ms > 0 ? 1 : pull_repetitions;
    return {
        timed("prototype (list + GET each)", c, repetitions, [&] { return pull_prototype(c); }),
        timed("GET log, 100 per page", c, repetitions, [&] { return pull_log(c, 100); }),
        timed("GET log, 1000 per page", c, repetitions, [&] { return pull_log(c, 1000); }),
    };
}

}  // namespace chunklog::bench
