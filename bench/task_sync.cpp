#include "bench/task_sync.hpp"

#include <chunklog/tasks/replica.hpp>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace chunklog::bench {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

task_sync_result run_task_sync(const bench_options& /*options*/, std::size_t operations, token_book& tokens) {
    constexpr std::size_t ops_per_task = 4;           // create, description, status, modified
    constexpr std::size_t ops_per_transaction = 40;  // the writer syncs after every 10 new tasks
    auto scratch = std::filesystem::temp_directory_path() / ("chunklog-bench-replicas-" + std::to_string(::getpid()));
    auto user = uuid::random();
    client server(tokens.client_for(user));
    // Derived once, outside the timings: Taskwarrior derives it once per sync.
    const auto key = sealing_key::derive("the benchmark's encryption secret", user);
    task_sync_result result;
    {
        auto writer = replica::open(scratch / "writer").value();
        std::vector<operation> batch;
        for (std::size_t i = 0; i < operations / ops_per_task; ++i) {
            auto id = uuid::random();
            auto ts = static_cast<std::int64_t>(1'700'000'000'000'000'000 + i);  // nanoseconds
            batch.insert(batch.end(), {operation::create(id), operation::update(id, "description", "task " + std::to_string(i), ts),
                                       operation::update(id, "status", "pending", ts),
                                       operation::update(id, "modified", std::to_string(ts / 1'000'000'000), ts)});
            if (batch.size() >= ops_per_transaction) {
                if (!writer->commit(batch)) throw std::runtime_error("commit failed");
                batch.clear();
                auto started = clock_type::now();
                if (!writer->sync(server, key)) throw std::runtime_error("publishing sync failed");
                result.publish_seconds += seconds_since(started);
                ++result.transactions;
            }
        }
        if (!batch.empty()) {
            if (!writer->commit(batch) || !writer->sync(server, key)) throw std::runtime_error("publishing sync failed");
            ++result.transactions;
        }
        result.operations = (operations / ops_per_task) * ops_per_task;
    }
    auto fresh = replica::open(scratch / "fresh").value();
    auto started = clock_type::now();
    if (!fresh->sync(server, key)) throw std::runtime_error("fresh sync failed");
    result.fresh_sync_seconds = seconds_since(started);
    started = clock_type::now();
    result.tasks = fresh->tasks().value().size();
    result.list_seconds = seconds_since(started);
    fresh.reset();
    std::filesystem::remove_all(scratch);
    return result;
}

}  // namespace chunklog::bench
