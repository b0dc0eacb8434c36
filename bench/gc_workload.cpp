#include "bench/gc_workload.hpp"

#include "bench/server_metrics.hpp"
#include "bench/workload_support.hpp"

#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

namespace chunklog::bench {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

constexpr auto gc_grace = std::chrono::seconds(1);
constexpr unsigned dead_branches = 3;  // beside each committed transaction
constexpr unsigned branch_length = 3;
constexpr std::uint64_t group_size = 1 + dead_branches * branch_length;  // one committed, nine dead
constexpr std::uint64_t groups_per_publish = 500;  // 5,000 transactions and chunks per request
constexpr std::size_t default_chunk_size = 256;

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

double per_second(double n, double seconds) { return seconds > 0 ? n / seconds : 0; }

std::size_t chunk_size_of(const bench_options& o) { return o.value_size_given ? o.value_size : default_chunk_size; }

// The user of store share `u`: the same as user_workload's for connection u,
// so the publish workload's connections land on the store's users.
uuid store_user(const bench_options& o, unsigned u) { return seeded_user(o.seed * 7919 + u); }

struct built_user {
    uuid user;
    uuid head = root_id;
    std::vector<digest> committed_chunks;  // what the pass must keep, and the GETs read
};

// Appends one transaction naming a new chunk to the batch; returns its id.
uuid add_transaction(publish_batch& batch, const uuid& parent, std::string bytes, digest* id_out = nullptr) {
    auto id = sha256_of(bytes);
    if (id_out != nullptr) *id_out = id;
    transaction_record t{uuid::random(), parent, 0, {id}};
    batch.chunks.push_back(std::move(bytes));
    batch.transactions.push_back(std::move(t));
    return batch.transactions.back().id;
}

// One user's share: `groups` times, three losing branches of three
// transactions on the committed transaction before, then the next committed
// one; HEAD advances with every publish of groups_per_publish groups.
// `on_publish` gets the number of transactions each publish stored.
template <typename F>
void build_user(client& c, built_user& out, unsigned u, std::uint64_t groups, const chunk_maker& maker, F on_publish) {
    std::uint64_t next_chunk = 0;
    for (std::uint64_t g0 = 0; g0 < groups; g0 += groups_per_publish) {
        publish_batch batch;
        for (std::uint64_t g = g0; g < std::min(groups, g0 + groups_per_publish); ++g) {
            for (unsigned b = 0; b < dead_branches; ++b) {
                uuid parent = out.head;
                for (unsigned l = 0; l < branch_length; ++l) parent = add_transaction(batch, parent, maker.make(u, next_chunk++));
            }
            digest kept;
            out.head = add_transaction(batch, out.head, maker.make(u, next_chunk++), &kept);
            out.committed_chunks.push_back(kept);
        }
        batch.head = out.head;
        auto done = c.publish(batch);
        if (!done) throw std::runtime_error("gc: building the store: publish failed: " + done.error().message);
        on_publish(batch.transactions.size());
    }
}

// Every user's share built at once, a thread and a client each.
std::vector<built_user> build_store(const bench_options& o, token_book& tokens, std::uint64_t groups_per_user,
                                    std::uint64_t total) {
    chunk_maker maker(chunk_size_of(o), o.seed + 1);  // not the publish load's pattern: no chunk in common
    std::vector<built_user> built(o.users);
    std::vector<client_options> clients;
    for (unsigned u = 0; u < o.users; ++u) {
        built[u].user = store_user(o, u);
        clients.push_back(tokens.client_for(built[u].user));
    }
    std::vector<std::exception_ptr> failures(o.users);
    std::atomic<std::uint64_t> published{0};
    std::atomic<unsigned> finished{0};
    std::atomic<std::uint64_t> events{0};  // publishes and finished threads: wakes the progress line
    auto signal = [&] {
        ++events;
        events.notify_all();
    };
    {
        std::vector<std::jthread> threads;
        for (unsigned u = 0; u < o.users; ++u)
            threads.emplace_back([&, u] {
                try {
                    client c(clients[u]);
                    build_user(c, built[u], u, groups_per_user, maker, [&](std::size_t n) {
                        published += n;
                        signal();
                    });
                } catch (...) {
                    failures[u] = std::current_exception();
                }
                ++finished;
                signal();
            });
        // Progress from the waiting thread, redrawn as each publish lands.
        for (std::uint64_t seen = 0; o.progress && finished.load() < o.users;) {
            events.wait(seen);
            seen = events.load();
            std::fprintf(stderr, "\r\033[Kgc: building the store: %llu of %llu transactions",
                         static_cast<unsigned long long>(published.load()), static_cast<unsigned long long>(total));
        }
    }
    if (o.progress) std::fprintf(stderr, "\r\033[K");
    for (auto& f : failures)
        if (f) std::rethrow_exception(f);
    return built;
}

// GETs of chunks of committed transactions, chosen at random (seeded per
// connection) across the store's users: reads the pass must not disturb.
class committed_reads final : public workload {
public:
    committed_reads(const std::vector<built_user>& users, unsigned connections, std::uint64_t seed) : users_(users) {
        for (unsigned c = 0; c < connections; ++c) rngs_.emplace_back(seed * 31 + c);
    }
    std::optional<uuid> user_of(unsigned c) const override { return users_[c % users_.size()].user; }
    asio::awaitable<op_outcome> run_one(load_connection& conn, unsigned c, std::uint64_t) override {
        const auto& u = users_[c % users_.size()];
        const auto& id = u.committed_chunks[rngs_[c]() % u.committed_chunks.size()];
        auto r = co_await conn.call("GET", "/0.1/" + u.user.to_string() + "/chunks/" + id.to_string(), {});
        co_return outcome_of(r, 200);
    }

private:
    const std::vector<built_user>& users_;
    std::vector<std::mt19937_64> rngs_;
};

struct phase_marks {
    steady::time_point before_from, before_to, during_from, during_to, after_from, after_to;
};

struct pass_answer {
    std::string metrics_before, metrics_after;
    json::object removed;  // POST /admin/gc's answer
};

asio::awaitable<std::string> admin_get_metrics(load_connection& admin) {
    auto r = co_await admin.call("GET", "/metrics", {});
    if (r.status != 200) throw std::runtime_error("gc: GET /metrics answered " + std::to_string(r.status) + " " + r.body);
    co_return std::move(r.body);
}

// The measurement, beside the running load: the period before, one pass
// (once the grace period of everything built has passed), the period after.
asio::awaitable<void> measure(mixed_load& load, load_connection& admin, const bench_options& o,
                              std::chrono::system_clock::time_point collectible_at, phase_marks& marks,
                              pass_answer& pass) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto after = [](double seconds) {
        return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
    };
    co_await load.start();
    marks.before_from = steady::now() + after(o.warmup_seconds);
    marks.before_to = marks.before_from + after(o.duration_seconds);
    timer.expires_at(marks.before_to);
    co_await timer.async_wait(asio::use_awaitable);
    // The pass removes only what was stored more than the grace period ago.
    if (auto left = collectible_at - std::chrono::system_clock::now(); left.count() > 0) {
        timer.expires_after(std::chrono::duration_cast<steady::duration>(left));
        co_await timer.async_wait(asio::use_awaitable);
    }
    pass.metrics_before = co_await admin_get_metrics(admin);
    marks.during_from = steady::now();
    auto r = co_await admin.call("POST", "/admin/gc", {});
    marks.during_to = steady::now();
    if (r.status != 200) throw std::runtime_error("gc: POST /admin/gc answered " + std::to_string(r.status) + " " + r.body);
    pass.removed = json::parse(r.body).as_object();
    pass.metrics_after = co_await admin_get_metrics(admin);
    marks.after_from = steady::now();
    marks.after_to = marks.after_from + after(o.duration_seconds);
    timer.expires_at(marks.after_to);
    co_await timer.async_wait(asio::use_awaitable);
    load.stop();
}

void read_pass(const pass_answer& pass, gc_result& result) {
    auto delta = [&](const char* name) {
        return required_metric(pass.metrics_after, name) - required_metric(pass.metrics_before, name);
    };
    result.examined = static_cast<std::uint64_t>(delta("chunklog_gc_examined_total"));
    result.server_pass_seconds = required_metric(pass.metrics_after, "chunklog_gc_last_pass_seconds");
    result.removed_transactions = pass.removed.at("transactions").to_number<std::uint64_t>();
    result.removed_chunks = pass.removed.at("chunks").to_number<std::uint64_t>();
    result.freed_bytes = pass.removed.at("bytes").to_number<std::uint64_t>();
}

// Loads the built store and measures the three phases and the pass.
void measure_pass(const bench_options& options, token_book& tokens, const std::vector<built_user>& built,
                  std::chrono::system_clock::time_point collectible_at, gc_result& result) {
    unsigned connections = std::max(2u, options.connections);
    result.get_connections = (connections + 1) / 2;
    result.publish_connections = connections / 2;
    result.rate = options.rate;
    committed_reads reads(built, result.get_connections, options.seed);
    auto publish_options = options;  // outlives the workload, which keeps a reference
    publish_options.connections = result.publish_connections;
    publish_options.value_size = result.chunk_size;
    auto publishes = make_publish_workload(publish_options);

    asio::io_context ioc(1);
    mixed_load load(ioc, tokens,
                    {{"get", &reads, result.get_connections}, {"publish", publishes.get(), result.publish_connections}},
                    options.rate);
    load_connection admin(ioc, tokens.link(), tokens.admin());
    admin.set_timeout(std::chrono::hours(2));
    phase_marks marks;
    pass_answer pass;
    std::exception_ptr failure;
    asio::co_spawn(ioc, measure(load, admin, options, collectible_at, marks, pass), [&](std::exception_ptr e) {
        failure = e;
        load.stop();
    });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    read_pass(pass, result);
    result.pass_seconds = std::chrono::duration<double>(marks.during_to - marks.during_from).count();
    for (auto [name, from, to] : {std::tuple{"before", marks.before_from, marks.before_to},
                                  std::tuple{"during", marks.during_from, marks.during_to},
                                  std::tuple{"after", marks.after_from, marks.after_to}})
        result.phases.push_back({name, load.summarize("get", from, to), load.summarize("publish", from, to)});
}

json::object window_json(const window_summary& w) {
    json::object errors;
    for (const auto& [kind, n] : w.errors) errors[kind] = n;
    return {{"seconds", w.seconds},
            {"ops", w.ops},
            {"ops_per_second", w.ops_per_second()},
            {"conflicts", w.conflicts},
            {"errors", errors},
            {"latency_ms",
             {{"p50", w.percentile_ms(50)}, {"p99", w.percentile_ms(99)}, {"p99.9", w.percentile_ms(99.9)},
              {"max", w.percentile_ms(100)}}}};
}

// p99 during the pass over p99 before it (0 when either has no operations).
double p99_ratio(const window_summary& during, const window_summary& before) {
    if (during.ops == 0 || before.ops == 0 || before.percentile_ms(99) == 0) return 0;
    return during.percentile_ms(99) / before.percentile_ms(99);
}

void print_window(const char* phase, const char* part, const window_summary& w) {
    std::uint64_t errors = 0;
    for (const auto& [kind, n] : w.errors) errors += n;
    std::printf("%-7s %-8s %8.1f %8llu %8.0f %8.2f %8.2f %8.2f %8.2f %7llu %6llu\n", phase, part, w.seconds,
                static_cast<unsigned long long>(w.ops), w.ops_per_second(), w.percentile_ms(50), w.percentile_ms(99),
                w.percentile_ms(99.9), w.percentile_ms(100), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(w.conflicts));
    for (const auto& [kind, n] : w.errors)
        std::printf("  errors: %s x %llu\n", kind.c_str(), static_cast<unsigned long long>(n));
}

}  // namespace

std::vector<std::string> gc_server_args() { return {"--gc-grace", "1s", "--gc-interval", "1d"}; }

gc_result run_gc(const bench_options& options, token_book& tokens) {
    if (tokens.admin().empty()) throw std::runtime_error("gc needs its server's admin token (not --auth none)");
    gc_result result;
    result.users = options.users;
    result.chunk_size = chunk_size_of(options);
    if (result.chunk_size < 32) throw std::runtime_error("gc: --size must be at least 32 (every chunk is distinct)");
    auto groups = std::max<std::uint64_t>(1, options.gc_transactions / options.users / group_size);
    result.transactions = groups * group_size * options.users;
    result.dead = groups * (group_size - 1) * options.users;

    auto started = steady::now();
    auto built = build_store(options, tokens, groups, result.transactions);
    result.build_seconds = seconds_since(started);
    // A little past the grace period: the server's clock reads milliseconds.
    auto collectible_at = std::chrono::system_clock::now() + gc_grace + std::chrono::milliseconds(50);
    measure_pass(options, tokens, built, collectible_at, result);
    return result;
}

void report_gc(const gc_result& r, bool json_out) {
    const gc_phase& before = r.phases.at(0);
    const gc_phase& during = r.phases.at(1);
    const gc_phase& after = r.phases.at(2);
    double removed = static_cast<double>(r.removed_transactions + r.removed_chunks);
    if (json_out) {
        json::array phases;
        for (const auto& p : r.phases)
            phases.push_back({{"phase", p.name}, {"get", window_json(p.get)}, {"publish", window_json(p.publish)}});
        std::cout << json::serialize(json::object{
                         {"workload", "gc"}, {"users", r.users}, {"transactions", r.transactions}, {"dead", r.dead},
                         {"chunk_size", r.chunk_size}, {"build_seconds", r.build_seconds},
                         {"pass",
                          {{"seconds", r.pass_seconds}, {"server_seconds", r.server_pass_seconds},
                           {"examined", r.examined}, {"transactions", r.removed_transactions},
                           {"chunks", r.removed_chunks}, {"bytes", r.freed_bytes},
                           {"examined_per_second", per_second(static_cast<double>(r.examined), r.server_pass_seconds)},
                           {"removed_per_second", per_second(removed, r.server_pass_seconds)}}},
                         {"load",
                          {{"rate", r.rate}, {"get_connections", r.get_connections},
                           {"publish_connections", r.publish_connections}}},
                         {"phases", phases},
                         {"p99_during_over_before",
                          {{"get", p99_ratio(during.get, before.get)}, {"publish", p99_ratio(during.publish, before.publish)}}},
                         {"p99_during_over_after",
                          {{"get", p99_ratio(during.get, after.get)}, {"publish", p99_ratio(during.publish, after.publish)}}}})
                  << std::endl;
        return;
    }
    std::printf("gc: %llu transactions over %u users (%llu dead), %zu-byte chunks, built in %.1f s (%.0f tx/s)\n",
                static_cast<unsigned long long>(r.transactions), r.users, static_cast<unsigned long long>(r.dead),
                r.chunk_size, r.build_seconds, per_second(static_cast<double>(r.transactions), r.build_seconds));
    std::printf("gc pass: %.2f s (server %.2f s): %llu records examined (%.0f/s); removed %llu transactions and %llu "
                "chunks (%.0f items/s), %llu bytes freed\n",
                r.pass_seconds, r.server_pass_seconds, static_cast<unsigned long long>(r.examined),
                per_second(static_cast<double>(r.examined), r.server_pass_seconds),
                static_cast<unsigned long long>(r.removed_transactions),
                static_cast<unsigned long long>(r.removed_chunks), per_second(removed, r.server_pass_seconds),
                static_cast<unsigned long long>(r.freed_bytes));
    std::printf("load: %s over %u GET and %u publish connections\n",
                r.rate > 0 ? (std::to_string(static_cast<long long>(r.rate)) + " requests/s").c_str() : "unpaced",
                r.get_connections, r.publish_connections);
    std::printf("%-7s %-8s %8s %8s %8s %8s %8s %8s %8s %7s %6s\n", "phase", "requests", "seconds", "ops", "ops/s",
                "p50 ms", "p99 ms", "p99.9", "max ms", "errors", "409s");
    for (const auto& p : r.phases) {
        print_window(p.name.c_str(), "get", p.get);
        print_window(p.name.c_str(), "publish", p.publish);
    }
    std::printf("p99 during the pass / before it: get %.2fx, publish %.2fx (target: at most 2x); / after it: get "
                "%.2fx, publish %.2fx\n",
                p99_ratio(during.get, before.get), p99_ratio(during.publish, before.publish),
                p99_ratio(during.get, after.get), p99_ratio(during.publish, after.publish));
}

}  // namespace chunklog::bench
