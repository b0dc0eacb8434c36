#include "bench/disk_ceiling.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace chunklog::bench {
namespace {

using clock_type = std::chrono::steady_clock;

struct writer_totals {
    std::uint64_t ops = 0;
    std::uint64_t bytes = 0;
    std::uint64_t failures = 0;
    std::vector<std::uint32_t> latencies_us;
};

void write_until(rocksdb::DB& db, unsigned writer, std::size_t value_size, clock_type::time_point measure_from,
                 clock_type::time_point stop_at, writer_totals& out) {
    rocksdb::WriteOptions synced;
    synced.sync = true;
    std::string value(value_size, static_cast<char>('a' + writer % 26));
    for (std::uint64_t n = 0;; ++n) {
        auto started = clock_type::now();
        if (started >= stop_at) return;
        auto key = "w" + std::to_string(writer) + "-" + std::to_string(n);
        auto status = db.Put(synced, key, value);
        auto finished = clock_type::now();
        if (started < measure_from || finished > stop_at) continue;
        if (!status.ok()) {
            ++out.failures;
            continue;
        }
        ++out.ops;
        out.bytes += value.size();
        out.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count()));
    }
}

std::chrono::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

}  // namespace

run_stats run_rocksdb_sync(const bench_options& options) {
    auto dir = std::filesystem::temp_directory_path() / ("chunklog-bench-rocksdb-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    auto opened = rocksdb::DB::Open(db_options, dir.string(), &raw);
    if (!opened.ok()) throw std::runtime_error("rocksdb-sync: cannot open " + dir.string() + ": " + opened.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);

    auto now = clock_type::now();
    auto measure_from = now + seconds(options.warmup_seconds);
    auto stop_at = measure_from + seconds(options.duration_seconds);
    std::vector<writer_totals> totals(options.connections);
    std::vector<std::thread> writers;
    for (unsigned i = 0; i < options.connections; ++i)
        writers.emplace_back([&, i] { write_until(*db, i, options.value_size, measure_from, stop_at, totals[i]); });
    for (auto& w : writers) w.join();
    db.reset();
    std::filesystem::remove_all(dir);

    run_stats stats;
    stats.workload = "rocksdb-sync";
    stats.connections = options.connections;
    stats.value_size = options.value_size;
    stats.seconds = options.duration_seconds;
    for (auto& t : totals) {
        stats.ops += t.ops;
        stats.items += t.ops;
        stats.bytes += t.bytes;
        if (t.failures != 0) stats.errors["write failed"] += t.failures;
        stats.latencies_us.insert(stats.latencies_us.end(), t.latencies_us.begin(), t.latencies_us.end());
    }
    std::sort(stats.latencies_us.begin(), stats.latencies_us.end());
    return stats;
}

}  // namespace chunklog::bench
