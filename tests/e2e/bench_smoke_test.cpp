// chunklog-bench itself: a run of a few seconds against a server it starts,
// checking that every load workload completes operations without errors.
// Timing is not checked: numbers belong in bench/RESULTS.md.
#include "support/protocol.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

namespace {

std::string run_and_capture(const std::string& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    REQUIRE(pipe);
    std::string out;
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
    return out;
}

}  // namespace

TEST_SUITE("bench") {

TEST_CASE("chunklog-bench runs each load workload against a server it starts") {
    auto out = run_and_capture(std::string(CHUNKLOG_BENCH_PATH) +
                               " --spawn --workload put-chunks,get-chunks,publish,publish-core,rocksdb-sync"
                               " --connections 4 --users 2 --batch 3 --size 512 --duration 0.5 --warmup 0 --json");
    std::istringstream lines(out);
    std::string line;
    int rows = 0;
    while (std::getline(lines, line)) {
        auto row = chunklog::test::parse_json(line).as_object();
        CAPTURE(line);
        CHECK(row.at("ops").to_number<std::uint64_t>() > 0);
        CHECK(row.at("errors").as_object().empty());
        if (row.at("workload").as_string() == "publish")
            CHECK(row.at("items").to_number<std::uint64_t>() == 3 * row.at("ops").to_number<std::uint64_t>());
        ++rows;
    }
    CHECK(rows == 5);
}

TEST_CASE("chunklog-bench rejects an unknown workload with a usage error") {
    auto out = run_and_capture(std::string(CHUNKLOG_BENCH_PATH) + " --workload nonsense 2>&1; echo exit=$?");
    CHECK(out.find("unknown workload nonsense") != std::string::npos);
    CHECK(out.find("exit=2") != std::string::npos);
}

}  // TEST_SUITE
