#include "bench/taskchampion_pull.hpp"

#include "bench/delay_relay.hpp"
#include "bench/load_connection.hpp"
#include "bench/taskwarrior_versions.hpp"

#include <chunklog/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <chrono>
#include <stdexcept>

namespace chunklog::bench {
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t versions_per_publish = 250;

// `count` versions from ROOT, published in a few requests.
asio::awaitable<void> publish_versions(load_connection& conn, const std::string& base, const sealing_key& key,
                                       std::size_t count) {
    uuid parent = root_id;
    for (std::size_t done = 0; done < count;) {
        std::vector<std::pair<uuid, std::string>> versions;
        auto previous = parent;
        for (; versions.size() < versions_per_publish && done < count; ++done) {
            versions.emplace_back(uuid::random(), task_add_version(key, previous, uuid::random(), done, now_ns()));
            previous = versions.back().first;
        }
        auto r = co_await conn.call("POST", base + "/publish", publish_versions_body(parent, versions));
        if (r.status != 200) throw std::runtime_error("publishing the versions failed with status " + std::to_string(r.status));
        parent = previous;
    }
}

// TaskChampion's way: get-child-version from the nil version until 404.
asio::awaitable<std::uint64_t> pull_child_by_child(load_connection& conn, const uuid& user, std::uint64_t& requests) {
    std::uint64_t n = 0;
    const header_list client_id{{std::string("X-Client-Id"), user.to_string()}};
    for (uuid parent = root_id;;) {
        ++requests;
        auto target = "/v1/client/get-child-version/" + parent.to_string();
        auto r = co_await conn.call("GET", target, {}, "", client_id);
        if (r.status == 404) co_return n;
        auto next = uuid::parse(r.header("X-Version-Id"));
        if (r.status != 200 || !next) throw std::runtime_error("get-child-version failed with status " + std::to_string(r.status));
        parent = *next;
        ++n;
    }
}

}  // namespace

std::vector<pull_result> run_taskchampion_pull(std::size_t count, token_book& tokens) {
    auto user = uuid::random();
    auto key = sealing_key::derive(bench_encryption_secret, user);
    asio::io_context ioc(1);
    load_connection conn(ioc, tokens.link(), tokens.for_user(user));
    std::vector<pull_result> results;
    std::exception_ptr failed;
    auto drive = [&]() -> asio::awaitable<void> {
        try {
            co_await publish_versions(conn, "/0.1/" + user.to_string(), key, count);
            pull_result one{"TaskChampion get-child-version, one per version"};
            auto bytes_before = delay_relay::bytes_carried();
            auto started = clock_type::now();
            one.transactions = co_await pull_child_by_child(conn, user, one.requests);
            one.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
            one.link_bytes = delay_relay::bytes_carried() - bytes_before;
            results.push_back(one);
        } catch (...) {
            failed = std::current_exception();
        }
    };
    asio::co_spawn(ioc, drive(), asio::detached);
    ioc.run();
    if (failed) std::rethrow_exception(failed);

    client c(tokens.client_for(user));
    pull_result log{"GET log, 1000 per page"};
    auto requests_before = c.requests_sent();
    auto bytes_before = delay_relay::bytes_carried();
    auto started = clock_type::now();
    auto last = c.pull(root_id, [&](const pulled_transaction&) -> outcome<void> {
        ++log.transactions;
        return {};
    }, 1000);
    if (!last) throw std::runtime_error("GET log failed: " + last.error().message);
    log.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    log.requests = c.requests_sent() - requests_before;
    log.link_bytes = delay_relay::bytes_carried() - bytes_before;
    results.push_back(log);
    return results;
}

}  // namespace chunklog::bench
