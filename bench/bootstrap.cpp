#include "bench/bootstrap.hpp"

#include "bench/server_metrics.hpp"
#include "bench/workload_support.hpp"

#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/tasks/envelope.hpp>
#include <chunklog/tasks/operations.hpp>
#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <stdexcept>
#include <vector>

namespace chunklog::bench {
namespace {

namespace json = boost::json;
using steady = std::chrono::steady_clock;

constexpr std::size_t transactions_per_publish = 500;
constexpr const char* encryption_secret = "the bootstrap benchmark's encryption secret";

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

double ratio(double a, double b) { return b > 0 ? a / b : 0; }

uuid task_id(std::uint64_t seed, std::uint64_t i) { return seeded_user(seed * 1'000'003 + i + 1); }

// The shape of the history: `transactions` of them creating `tasks` tasks,
// evenly spread.
struct history_shape {
    std::uint64_t seed;
    std::size_t transactions, tasks;
};

// The operations of history transaction i: the next new task when its turn
// comes (create, description, status, entry), the priority of an existing
// task, and every third transaction an existing task completed.
std::vector<operation> operations_of(const history_shape& h, std::uint64_t i) {
    std::mt19937_64 rng(h.seed * 7 + i);
    auto seconds = static_cast<std::int64_t>(1'700'000'000 + i);
    auto ts = seconds * 1'000'000'000;  // nanoseconds: only conflict resolution reads it
    auto when = std::to_string(seconds);  // dates as Taskwarrior writes them: epoch seconds
    std::vector<operation> ops;
    std::uint64_t existing = i * h.tasks / h.transactions;  // created by the transactions before
    if ((i + 1) * h.tasks / h.transactions > existing) {
        auto t = task_id(h.seed, existing++);
        ops = {operation::create(t),
               operation::update(t, "description", "task " + std::to_string(existing) + " of the bootstrap benchmark", ts),
               operation::update(t, "status", "pending", ts), operation::update(t, "entry", when, ts)};
    }
    if (i == 0 || existing == 0) return ops;
    ops.push_back(operation::update(task_id(h.seed, rng() % existing), "priority", std::string(1, "HML"[rng() % 3]), ts));
    if (i % 3 == 2) {
        auto done = task_id(h.seed, rng() % existing);
        ops.push_back(operation::update(done, "status", "completed", ts));
        ops.push_back(operation::update(done, "end", when, ts));
    }
    return ops;
}

// Publishes the history in batches, each transaction one TaskChampion
// version (its operations as a history segment sealed to its parent);
// returns its operations and HEAD.
std::pair<std::size_t, uuid> publish_history(client& c, const sealing_key& key, const history_shape& h) {
    std::size_t operations = 0;
    uuid parent = root_id;
    for (std::size_t done = 0; done < h.transactions;) {
        publish_batch batch;
        for (std::size_t n = 0; n < transactions_per_publish && done < h.transactions; ++n, ++done) {
            auto ops = operations_of(h, done);
            operations += ops.size();
            auto chunk = key.seal(encode_history_segment(ops), parent);
            batch.transactions.push_back({uuid::random(), parent, 0, {sha256_of(chunk)}});
            batch.chunks.push_back(std::move(chunk));
            parent = batch.transactions.back().id;
        }
        batch.head = parent;
        if (auto r = c.publish(batch); !r) throw std::runtime_error("bootstrap: publish failed: " + r.error().message);
    }
    return {operations, parent};
}

// Opens and applies one version, as a TaskChampion replica does.
outcome<void> apply_transaction(const pulled_transaction& t, const sealing_key& key, bootstrap_run& run,
                                task_set& tasks) {
    ++run.transactions;
    for (const auto& chunk : t.chunks) {
        auto segment = key.open(chunk, t.record.parent);
        if (!segment) return segment.error();
        auto ops = decode_history_segment(*segment);
        if (!ops) return ops.error();
        for (const auto& op : *ops) apply_operation(tasks, op);
        run.operations += ops->size();
    }
    return {};
}

// A new client from ROOT into empty tasks, by replay or from the snapshot,
// timed, with the requests it sent and the server's byte counters around
// it (on one kept-alive connection, the server has counted the first read's
// own answer before it reads the second: that body is subtracted).
bootstrap_run bootstrap_once(bool from_snapshot, const client_options& co, const sealing_key& key,
                             metrics_reader& metrics, task_set& tasks) {
    client c(co);
    bootstrap_run run;
    auto on_transaction = [&](const pulled_transaction& t) { return apply_transaction(t, key, run, tasks); };
    auto on_snapshot = [&](const pulled_snapshot& s) -> outcome<void> {
        if (s.chunks.size() != 1) return make_error(errc::bad_request, "a TaskChampion snapshot is one chunk");
        auto opened = key.open(s.chunks.front(), s.position.transaction);
        if (!opened) return opened.error();
        auto decoded = decode_taskchampion_snapshot(*opened);
        if (!decoded) return decoded.error();
        tasks = std::move(*decoded);
        run.from_snapshot = true;
        return {};
    };
    auto before = metrics.read();
    auto started = steady::now();
    auto pulled = from_snapshot ? c.pull_with_snapshot(root_id, on_snapshot, on_transaction) : c.pull(root_id, on_transaction);
    run.seconds = seconds_since(started);
    auto after = metrics.read();
    if (!pulled) throw std::runtime_error("bootstrap: the pull failed: " + pulled.error().message);
    auto delta = [&](const char* name) {
        return static_cast<std::uint64_t>(required_metric(after, name) - required_metric(before, name));
    };
    run.bytes_in = delta("chunklog_http_bytes_sent_total") - before.size();
    run.bytes_out = delta("chunklog_http_bytes_received_total");
    run.requests = c.requests_sent();
    run.tasks = tasks.size();
    return run;
}

// bootstrap_repetitions runs; the median by time. Every run must end with
// the tasks of `expected` (with the first run's when it is empty).
bootstrap_run bootstrap_median(bool from_snapshot, const client_options& co, const sealing_key& key,
                               metrics_reader& metrics, task_set& expected) {
    std::vector<bootstrap_run> runs;
    for (int i = 0; i < bootstrap_repetitions; ++i) {
        task_set got;
        runs.push_back(bootstrap_once(from_snapshot, co, key, metrics, got));
        if (expected.empty()) expected = std::move(got);
        else if (got != expected) throw std::runtime_error("bootstrap: the new replicas ended with different tasks");
    }
    std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
    return runs[runs.size() / 2];
}

// Writes `tasks`, the state at `head`, as the user's snapshot: one chunk,
// the zlib-compressed task map sealed to `head`, as Taskwarrior writes it.
void write_snapshot(client& c, const sealing_key& key, const uuid& head, const task_set& tasks,
                    bootstrap_result& result) {
    auto started = steady::now();
    std::vector<std::string> chunks{key.seal(encode_taskchampion_snapshot(tasks), head)};
    auto written = c.put_snapshot(head, chunks);
    result.snapshot_write_seconds = seconds_since(started);
    if (!written) throw std::runtime_error("bootstrap: PUT snapshot failed: " + written.error().message);
    if (!written->created || written->in_force.transaction != head)
        throw std::runtime_error("bootstrap: the server kept another snapshot");
    result.snapshot_chunks = chunks.size();
    for (const auto& chunk : chunks) result.snapshot_bytes += chunk.size();
}

json::object run_json(const bootstrap_run& r) {
    return {{"seconds", r.seconds},         {"requests", r.requests},   {"bytes_from_server", r.bytes_in},
            {"bytes_to_server", r.bytes_out}, {"transactions", r.transactions}, {"operations", r.operations},
            {"tasks", r.tasks},             {"from_snapshot", r.from_snapshot}};
}

void print_run(const char* name, const bootstrap_run& run) {
    std::printf("%-20s %8.3f %9llu %14llu %12llu %12zu %10zu %7zu\n", name, run.seconds,
                static_cast<unsigned long long>(run.requests), static_cast<unsigned long long>(run.bytes_in),
                static_cast<unsigned long long>(run.bytes_out), run.transactions, run.operations, run.tasks);
}

}  // namespace

double bootstrap_result::speedup() const { return ratio(replay.seconds, snapshot.seconds); }

bootstrap_result run_bootstrap(const bench_options& options, token_book& tokens, const std::string& metrics_token) {
    const std::size_t n = options.bootstrap_transactions;
    auto user = uuid::random();
    auto co = tokens.client_for(user);
    client c(co);
    // Derived once, outside the timings, as a replica does once per sync.
    const auto key = sealing_key::derive(encryption_secret, user);
    metrics_reader metrics(tokens.link(), metrics_token);
    bootstrap_result result;
    result.transactions = n;

    history_shape shape{options.seed, n, options.bootstrap_tasks == 0 ? n : std::min(n, options.bootstrap_tasks)};
    auto started = steady::now();
    auto [operations, head] = publish_history(c, key, shape);
    result.operations = operations;
    result.build_seconds = seconds_since(started);

    task_set tasks;
    result.replay = bootstrap_median(false, co, key, metrics, tasks);
    write_snapshot(c, key, head, tasks, result);
    result.snapshot = bootstrap_median(true, co, key, metrics, tasks);
    if (result.replay.from_snapshot || result.replay.transactions != n || result.replay.tasks != shape.tasks ||
        !result.snapshot.from_snapshot || result.snapshot.transactions != 0)
        throw std::runtime_error("bootstrap: the replay used the snapshot, or the snapshot bootstrap did not");
    return result;
}

void report_bootstrap(const bootstrap_result& r, bool json_out) {
    double bytes_ratio = ratio(static_cast<double>(r.replay.bytes_in), static_cast<double>(r.snapshot.bytes_in));
    double requests_ratio = ratio(static_cast<double>(r.replay.requests), static_cast<double>(r.snapshot.requests));
    if (json_out) {
        std::cout << json::serialize(json::object{
                         {"workload", "bootstrap"}, {"transactions", r.transactions}, {"operations", r.operations},
                         {"build_seconds", r.build_seconds},
                         {"snapshot",
                          {{"chunks", r.snapshot_chunks}, {"bytes", r.snapshot_bytes},
                           {"write_seconds", r.snapshot_write_seconds}}},
                         {"replay", run_json(r.replay)}, {"from_snapshot", run_json(r.snapshot)},
                         {"speedup", r.speedup()}, {"bytes_ratio", bytes_ratio}, {"requests_ratio", requests_ratio}})
                  << std::endl;
        return;
    }
    std::printf("bootstrap: %zu transactions, %zu operations, %zu tasks (published in %.1f s); snapshot of %zu chunks, "
                "%llu bytes, encoded and written in %.3f s\n",
                r.transactions, r.operations, r.snapshot.tasks, r.build_seconds, r.snapshot_chunks,
                static_cast<unsigned long long>(r.snapshot_bytes), r.snapshot_write_seconds);
    std::printf("%-20s %8s %9s %14s %12s %12s %10s %7s\n", "new replica", "seconds", "requests", "bytes from srv",
                "bytes to srv", "transactions", "operations", "tasks");
    print_run("replay from ROOT", r.replay);
    print_run("GET log?snapshot=1", r.snapshot);
    std::printf("the snapshot is %.1fx faster than the replay (target: at least 10x), with %.1fx fewer bytes from the "
                "server and %.1fx fewer requests (median of %d each)\n",
                r.speedup(), bytes_ratio, requests_ratio, bootstrap_repetitions);
}

}  // namespace chunklog::bench
