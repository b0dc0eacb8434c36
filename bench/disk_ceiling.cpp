#include "bench/disk_ceiling.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
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

// One write as a thread issues it: a single Put, or the batch of a publish.
using write_fn = std::function<rocksdb::Status(std::uint64_t n)>;

void write_until(const write_fn& write, std::size_t bytes_per_write, clock_type::time_point measure_from,
                 clock_type::time_point stop_at, writer_totals& out) {
    for (std::uint64_t n = 0;; ++n) {
        auto started = clock_type::now();
        if (started >= stop_at) return;
        auto status = write(n);
        auto finished = clock_type::now();
        if (started < measure_from || finished > stop_at) continue;
        if (!status.ok()) {
            ++out.failures;
            continue;
        }
        ++out.ops;
        out.bytes += bytes_per_write;
        out.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count()));
    }
}

// rocksdb-publish-grouped: the commit pipeline's shape. One thread adds one
// publish of every user to one WriteBatch and writes it synced, again and
// again; each publish of a group waits for the whole group.
template <class Users>
void write_groups_until(rocksdb::DB& db, Users& users, std::size_t bytes_per_write, clock_type::time_point measure_from,
                        clock_type::time_point stop_at, writer_totals& out) {
    rocksdb::WriteOptions synced;
    synced.sync = true;
    for (std::uint64_t n = 0;; ++n) {
        auto started = clock_type::now();
        if (started >= stop_at) return;
        rocksdb::WriteBatch batch;
        for (auto& user : users) user->add(n, batch);
        auto status = db.Write(synced, &batch);
        auto finished = clock_type::now();
        if (started < measure_from || finished > stop_at) continue;
        if (!status.ok()) {
            out.failures += users.size();
            continue;
        }
        out.ops += users.size();
        out.bytes += bytes_per_write * users.size();
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count();
        out.latencies_us.insert(out.latencies_us.end(), users.size(), static_cast<std::uint32_t>(us));
    }
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
}

std::string big_endian(std::uint64_t v) {
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return out;
}

// The entries chunklogd's RocksDB store writes for a publish of one chunk
// and one transaction, with keys and values of the same sizes (a 16-byte
// user, a one-byte tag, 32-byte chunk ids, 16-byte transaction ids): the
// chunk in its own family; its size, the user's totals, the transaction,
// its parent's child entry, the chunk's reference count, the chain entry
// and HEAD in the other.
class publish_batches {
public:
    publish_batches(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* chunks, std::size_t chunk_size, unsigned writer)
        : db_(db), chunks_(chunks), rng_(writer + 1), user_(random_bytes(rng_, 16)), chunk_(chunk_size, 'c'),
          parent_(random_bytes(rng_, 16)) {
        synced_.sync = true;
    }

    rocksdb::Status write(std::uint64_t n) {
        rocksdb::WriteBatch batch;
        add(n, batch);
        return db_.Write(synced_, &batch);
    }

    // Adds the entries of publish number `n` to `batch`.
    void add(std::uint64_t n, rocksdb::WriteBatch& batch) {
        auto chunk_id = random_bytes(rng_, 32);
        auto id = random_bytes(rng_, 16);
        auto meta = db_.DefaultColumnFamily();
        batch.Put(chunks_, user_ + chunk_id, chunk_);
        batch.Put(meta, key('s', chunk_id), std::string(16, 's'));
        batch.Put(meta, key('t'), std::string(16, 't'));
        batch.Put(meta, key('x', id), std::string(96, 'x'));
        batch.Put(meta, key('c', parent_ + id), rocksdb::Slice());
        batch.Put(meta, key('r', chunk_id), std::string(8, 'r'));
        batch.Put(meta, key('n', big_endian(n)), id + std::string(8, 'n'));
        batch.Put(meta, key('h'), id + big_endian(n));
        parent_ = id;
    }

private:
    std::string key(char tag, const std::string& rest = {}) const { return user_ + tag + rest; }

    rocksdb::DB& db_;
    rocksdb::ColumnFamilyHandle* chunks_;
    rocksdb::WriteOptions synced_;
    std::mt19937_64 rng_;
    std::string user_;
    std::string chunk_;
    std::string parent_;
};

std::chrono::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

}  // namespace

run_stats run_rocksdb_ceiling(const bench_options& options, const std::string& workload) {
    const bool grouped = workload == "rocksdb-publish-grouped";
    const bool publish = grouped || workload == "rocksdb-publish";
    auto dir = std::filesystem::temp_directory_path() / ("chunklog-bench-rocksdb-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    rocksdb::Options db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    // The grouped writes go through one thread, which can use the memtable
    // insert hints chunklogd's store sets (by user and tag, and by user);
    // concurrent writers of a write group cannot.
    rocksdb::ColumnFamilyOptions meta, chunks;
    if (grouped) {
        meta.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(17));
        chunks.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> families{{rocksdb::kDefaultColumnFamilyName, meta}};
    if (publish) families.emplace_back("chunks", chunks);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto opened = rocksdb::DB::Open(db_options, dir.string(), families, &handles, &raw);
    if (!opened.ok()) throw std::runtime_error(workload + ": cannot open " + dir.string() + ": " + opened.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);

    std::vector<write_fn> writes;
    std::vector<std::unique_ptr<publish_batches>> batches;
    rocksdb::WriteOptions synced;
    synced.sync = true;
    for (unsigned i = 0; i < options.connections; ++i) {
        if (publish) {
            batches.push_back(std::make_unique<publish_batches>(*db, handles[1], options.value_size, i));
            writes.emplace_back([b = batches.back().get()](std::uint64_t n) { return b->write(n); });
        } else {
            auto value = std::make_shared<std::string>(options.value_size, static_cast<char>('a' + i % 26));
            writes.emplace_back([&db, &synced, value, i](std::uint64_t n) {
                return db->Put(synced, "w" + std::to_string(i) + "-" + std::to_string(n), *value);
            });
        }
    }

    // One write per writer before the clock starts: the first writes into
    // a new database set its memtables up, which is no part of a ceiling
    // (and under ThreadSanitizer takes most of a second).
    for (unsigned i = 0; i < options.connections; ++i)
        if (auto primed = writes[i](std::numeric_limits<std::uint64_t>::max()); !primed.ok())
            throw std::runtime_error(workload + ": the first write failed: " + primed.ToString());

    auto now = clock_type::now();
    auto measure_from = now + seconds(options.warmup_seconds);
    auto stop_at = measure_from + seconds(options.duration_seconds);
    std::vector<writer_totals> totals(options.connections);
    std::vector<std::thread> writers;
    if (grouped)
        writers.emplace_back([&] { write_groups_until(*db, batches, options.value_size, measure_from, stop_at, totals[0]); });
    else
        for (unsigned i = 0; i < options.connections; ++i)
            writers.emplace_back([&, i] { write_until(writes[i], options.value_size, measure_from, stop_at, totals[i]); });
    for (auto& w : writers) w.join();
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db.reset();
    std::filesystem::remove_all(dir);

    run_stats stats;
    stats.workload = workload;
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
