// chunklog-bench itself: runs of a few seconds against a server it starts
// (token mode, its default: the bench makes a token per user), over HTTPS,
// and against a server started here with --token, checking that every
// workload completes operations without errors. Timing is not checked:
// numbers belong in bench/RESULTS.md.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string run_and_capture(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
    return out;
}

std::string bench(const std::string& args) { return std::string(CHUNKLOG_BENCH_PATH) + " " + args; }

// The JSON lines of a --json run (stderr is folded into the output, so a
// failure message shows in the check that sees too few lines).
std::vector<boost::json::object> json_rows(const std::string& out) {
    std::vector<boost::json::object> rows;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        CAPTURE(line);
        if (line.empty() || line.front() != '{') {
            FAIL_CHECK("not a JSON line");
            continue;
        }
        rows.push_back(chunklog::test::parse_json(line).as_object());
    }
    return rows;
}

// Every load row completed operations and saw no error.
void check_load_rows(const std::string& out, std::size_t expected_rows) {
    CAPTURE(out);
    auto rows = json_rows(out);
    CHECK(rows.size() == expected_rows);
    for (const auto& row : rows) {
        CAPTURE(boost::json::serialize(row));
        CHECK(row.at("ops").to_number<std::uint64_t>() > 0);
        CHECK(row.at("errors").as_object().empty());
        if (row.at("workload").as_string() == "publish")
            CHECK(row.at("items").to_number<std::uint64_t>() == 3 * row.at("ops").to_number<std::uint64_t>());
        if (row.at("workload").as_string() == "rocksdb-publish-grouped")  // whole rounds of 4
            CHECK(row.at("ops").to_number<std::uint64_t>() % 4 == 0);
    }
}

}  // namespace

TEST_SUITE("bench") {

TEST_CASE("chunklog-bench runs each load workload against a server it starts, each user with its own token") {
    check_load_rows(run_and_capture(bench("--spawn --workload put-chunks,get-chunks,publish,publish-core,rocksdb-sync,"
                                          "rocksdb-publish,rocksdb-publish-grouped --connections 4 --users 2 --batch 3"
                                          " --size 512 --duration 0.5 --warmup 0 --json 2>&1")),
                    7);
}

TEST_CASE("chunklog-bench loopback-fanout: every waiter gets the answer its child process writes") {
    auto out = run_and_capture(bench("--workload loopback-fanout --connections 50 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].at("workload").as_string() == "loopback-fanout");
    CHECK(rows[0].at("waiters").to_number<std::uint64_t>() == 50);
    CHECK(rows[0].at("woken").to_number<std::uint64_t>() == 50);
}

TEST_CASE("chunklog-bench's client-library and long-poll workloads carry their user's token") {
    auto out = run_and_capture(bench("--spawn --workload pull,task-sync,longpoll --count 40 --connections 20 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 5);  // pull: three methods
    for (int i = 0; i < 3; ++i) CHECK(rows[i].at("transactions").to_number<std::uint64_t>() == 40);
    CHECK(rows[3].at("operations").to_number<std::uint64_t>() == 40);
    CHECK(rows[3].at("tasks").to_number<std::uint64_t>() == 10);
    CHECK(rows[4].at("woken").to_number<std::uint64_t>() == 20);
}

TEST_CASE("chunklog-bench --rtt-ms: every request crosses the delay, and both ways of tc-pull see every version") {
    // 8 versions: get-child-version makes 9 requests, each a whole round trip.
    auto out = run_and_capture(bench("--spawn --rtt-ms 50 --workload tc-pull --count 8 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].at("transactions").to_number<std::uint64_t>() == 8);
    CHECK(rows[0].at("requests").to_number<std::uint64_t>() == 9);
    CHECK(rows[0].at("seconds").to_number<double>() >= 9 * 0.050);
    CHECK(rows[1].at("transactions").to_number<std::uint64_t>() == 8);
    CHECK(rows[1].at("seconds").to_number<double>() >= 0.050);
}

TEST_CASE("chunklog-bench loads a server it starts over HTTPS with a certificate it makes") {
    check_load_rows(run_and_capture(bench("--spawn --tls --workload put-chunks,get-chunks,publish --connections 3"
                                          " --users 2 --batch 3 --size 512 --duration 0.3 --warmup 0 --json 2>&1")),
                    3);
    auto out = run_and_capture(bench("--spawn --tls --workload pull,longpoll --count 20 --connections 5 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0].at("transactions").to_number<std::uint64_t>() == 20);
    CHECK(rows[3].at("woken").to_number<std::uint64_t>() == 5);
}

TEST_CASE("chunklog-bench runs without tokens against a server started with --auth none") {
    check_load_rows(run_and_capture(bench("--spawn --server-arg --auth --server-arg none --workload get-chunks"
                                          " --connections 2 --size 512 --duration 0.3 --warmup 0 --json 2>&1")),
                    1);
}

TEST_CASE("chunklog-bench --token: sent on every request to a server it did not start") {
    chunklog::test::temp_dir dir;
    chunklog::test::server_process server(dir.path() / "db");
    auto url = " --server http://127.0.0.1:" + std::to_string(server.port());
    auto load = " --workload put-chunks --connections 2 --size 512 --duration 0.3 --warmup 0 --json 2>&1";
    check_load_rows(run_and_capture(bench("--token " + server.admin_token() + url + load)), 1);
    check_load_rows(run_and_capture("CHUNKLOG_TOKEN=" + server.admin_token() + " " + bench(url + load)), 1);

    auto refused = json_rows(run_and_capture(bench("--token not-a-token" + url + load)));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].at("ops").to_number<std::uint64_t>() == 0);
    const auto& errors = refused[0].at("errors").as_object();  // 401, then 429 past the failure limit
    CHECK((errors.contains("status 401") || errors.contains("status 429")));
}

TEST_CASE("chunklog-bench gc: one pass over a small store removes exactly its dead part while the load runs") {
    // 2 users x 10 groups of one committed and nine dead transactions.
    auto out = run_and_capture(bench("--spawn --workload gc --gc-transactions 200 --users 2 --connections 4 --size 64"
                                     " --duration 1 --warmup 0 --rate 100 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 1);
    const auto& row = rows[0];
    CHECK(row.at("transactions").to_number<std::uint64_t>() == 200);
    CHECK(row.at("dead").to_number<std::uint64_t>() == 180);
    const auto& pass = row.at("pass").as_object();
    CHECK(pass.at("transactions").to_number<std::uint64_t>() == 180);
    CHECK(pass.at("chunks").to_number<std::uint64_t>() == 180);
    CHECK(pass.at("bytes").to_number<std::uint64_t>() == 180 * 64);
    CHECK(pass.at("examined").to_number<std::uint64_t>() >= 360);
    const auto& phases = row.at("phases").as_array();
    REQUIRE(phases.size() == 3);
    for (const char* part : {"get", "publish"}) {
        CAPTURE(part);
        // A phase counts the requests both due and answered within it. The
        // load is paced (--rate), well below what a sanitizer build serves,
        // since a load behind its schedule answers only requests due in an
        // earlier phase; even so one phase of a slow machine may see none,
        // so the load's progress is asked of the whole run.
        std::uint64_t ops = 0;
        for (const auto& phase : phases) {
            CAPTURE(boost::json::serialize(phase));
            const auto& w = phase.at(part).as_object();
            CHECK(w.at("errors").as_object().empty());
            ops += w.at("ops").to_number<std::uint64_t>();
        }
        CHECK(ops > 0);
    }
}

TEST_CASE("chunklog-bench bootstrap: new replicas from the snapshot and by replay end with the same tasks") {
    auto out = run_and_capture(bench("--spawn --workload bootstrap --bootstrap-transactions 30 --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 1);
    const auto& row = rows[0];
    CHECK(row.at("transactions").to_number<std::uint64_t>() == 30);
    CHECK(row.at("snapshot").at("chunks").to_number<std::uint64_t>() >= 1);
    const auto& replay = row.at("replay").as_object();
    const auto& snapshot = row.at("from_snapshot").as_object();
    CHECK(replay.at("transactions").to_number<std::uint64_t>() == 30);
    CHECK_FALSE(replay.at("from_snapshot").as_bool());
    CHECK(snapshot.at("transactions").to_number<std::uint64_t>() == 0);
    CHECK(snapshot.at("from_snapshot").as_bool());
    CHECK(replay.at("tasks").to_number<std::uint64_t>() == 30);
    CHECK(snapshot.at("tasks").to_number<std::uint64_t>() == 30);
    CHECK(replay.at("requests").to_number<std::uint64_t>() >= 1);
    CHECK(snapshot.at("requests").to_number<std::uint64_t>() >= 1);
    // Response bodies as the server counted them: the whole history, or the snapshot.
    CHECK(replay.at("bytes_from_server").to_number<std::uint64_t>() > 30 * 100);
    CHECK(snapshot.at("bytes_from_server").to_number<std::uint64_t>() >
          row.at("snapshot").at("bytes").to_number<std::uint64_t>());
}

TEST_CASE("chunklog-bench taskchampion: TaskChampion's requests and their native counterparts, without errors") {
    check_load_rows(run_and_capture(bench("--spawn --workload taskchampion --connections 2 --users 2"
                                          " --duration 0.3 --warmup 0 --json 2>&1")),
                    5);
}

TEST_CASE("chunklog-bench taskwarrior-sync: a real task sync pulls every version, or the run says why it was skipped") {
    const char* root = std::getenv("CHUNKLOG_TW_ROOT");
    std::string root_arg = root != nullptr && *root != '\0' ? std::string(" --taskwarrior-root ") + root : "";
    auto out = run_and_capture(bench("--spawn --workload taskwarrior-sync --count 5" + root_arg + " --json 2>&1"));
    CAPTURE(out);
    auto rows = json_rows(out);
    REQUIRE(rows.size() == 1);
    const auto& row = rows[0];
    if (row.contains("skipped")) {
        MESSAGE("taskwarrior-sync skipped: " << row.at("skipped").as_string().c_str());
    } else {
        CHECK(row.at("versions").to_number<std::uint64_t>() == 5);
        CHECK(row.at("replica_tasks").to_number<std::uint64_t>() == 5);
        const auto& runs = row.at("runs").as_array();
        REQUIRE(runs.size() == 3);
        for (const auto& run : runs) {
            CHECK(run.at("tasks").to_number<std::uint64_t>() == 5);
            // Five versions, then the 404 that ends the pull, and at least the snapshot request.
            CHECK(run.at("requests").to_number<std::uint64_t>() >= 7);
        }
        // Started from the snapshot: no version to pull.
        const auto& from_snapshot = row.at("from_snapshot").as_object();
        CHECK(from_snapshot.at("tasks").to_number<std::uint64_t>() == 5);
        CHECK(from_snapshot.at("requests").to_number<std::uint64_t>() < 7);
    }

    auto skipped = json_rows(run_and_capture(bench("--spawn --workload taskwarrior-sync --count 5"
                                                   " --taskwarrior-root /nonexistent --json 2>&1")));
    REQUIRE(skipped.size() == 1);
    CHECK(std::string(skipped[0].at("skipped").as_string()).find("no Taskwarrior at /nonexistent") == 0);
}

TEST_CASE("chunklog-bench gc needs --spawn") {
    auto out = run_and_capture(bench("--workload gc 2>&1; echo exit=$?"));
    CHECK(out.find("workload gc needs --spawn") != std::string::npos);
    CHECK(out.find("exit=2") != std::string::npos);
}

TEST_CASE("chunklog-bench rejects an unknown workload with a usage error") {
    auto out = run_and_capture(bench("--workload nonsense 2>&1; echo exit=$?"));
    CHECK(out.find("unknown workload nonsense") != std::string::npos);
    CHECK(out.find("exit=2") != std::string::npos);
}

}  // TEST_SUITE
