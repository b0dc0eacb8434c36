// The chunklog command-line client, run as a real process against the real
// server: each subcommand in text and --json, and the exit codes.
#include "support/cli_fixture.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <thread>

using namespace chunklog::test;


TEST_SUITE("cli") {

TEST_CASE_FIXTURE(cli_fixture, "two people share a log: push on one machine, pull on the other") {
    auto init = run("--server " + server_url + " --json init");
    REQUIRE(init.exit == 0);
    auto user = text(parse_json(init.out).at("user"));
    REQUIRE(run("init --server " + server_url + " --user " + user, "b").exit == 0);

    auto f1 = write_file("one.txt", "first file\n");
    auto f2 = write_file("two.bin", std::string("\0\1\2", 3));
    auto pushed = run("push " + f1 + " " + f2);
    REQUIRE(pushed.exit == 0);
    auto tx = trimmed(pushed.out);
    CHECK(tx.size() == 36);

    auto out_dir = (dir.path() / "pulled").string();
    auto pulled = run("pull --json --out " + out_dir, "b");
    REQUIRE(pulled.exit == 0);
    auto p = parse_json(pulled.out);
    CHECK(text(p.at("last")) == tx);
    CHECK(p.at("transactions").to_number<int>() == 1);
    std::ifstream got(out_dir + "/" + sha256_hex("first file\n"));
    std::string content((std::istreambuf_iterator<char>(got)), {});
    CHECK(content == "first file\n");
    CHECK(run("cat " + sha256_hex(std::string("\0\1\2", 3)), "b").out == std::string("\0\1\2", 3));

    auto head = run("head --json", "b");
    CHECK(text(parse_json(head.out).at("head")) == tx);
    auto log = run("--json log", "b");
    CHECK(parse_json(log.out).at("transactions").as_array().size() == 1);
    CHECK(run("log", "b").out.find(tx) != std::string::npos);
    auto info = run("info --json");
    CHECK(parse_json(info.out).at("chunks").to_number<int>() == 2);
    CHECK(trimmed(run("pull --from " + tx, "b").out) == tx);  // nothing new: resume point stays
}

TEST_CASE_FIXTURE(cli_fixture, "push rebases on a conflicting HEAD") {
    REQUIRE(run("--server " + server_url + " init").exit == 0);
    for (int i = 0; i < 3; ++i) REQUIRE(run("push " + write_file("f" + std::to_string(i), std::to_string(i))).exit == 0);
    auto log = parse_json(run("--json log").out).at("transactions").as_array();
    REQUIRE(log.size() == 3);
    CHECK(log[2].at("seq").to_number<int>() == 3);
}

TEST_CASE_FIXTURE(cli_fixture, "watch prints the next HEAD") {
    REQUIRE(run("--server " + server_url + " init").exit == 0);
    auto watcher = std::async(std::launch::async, [&] { return run("watch --count 1 --json"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto pushed = run("push " + write_file("w", "watched"));
    REQUIRE(watcher.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    auto w = watcher.get();
    CHECK(w.exit == 0);
    CHECK(text(parse_json(w.out).at("head")) == trimmed(pushed.out));
}

TEST_CASE_FIXTURE(cli_fixture, "exit codes and JSON errors") {
    CHECK(run("--help").exit == 0);
    CHECK(run("push --help").exit == 0);
    CHECK(run("").exit == 2);
    CHECK(run("frobnicate").exit == 2);
    CHECK(run("head").exit == 2);  // no user configured
    REQUIRE(run("--server " + server_url + " init").exit == 0);
    CHECK(run("cat " + sha256_hex("absent")).exit == 4);
    auto json_error = run("--json cat " + sha256_hex("absent"));
    CHECK(json_error.exit == 4);
    CHECK(text(parse_json(json_error.out).at("error")) == "not_found");
    CHECK(run("cat nonsense").exit == 2);
    CHECK(run("push").exit == 2);
    CHECK(run("pull --from nonsense").exit == 2);
    CHECK(run("--server http://127.0.0.1:1 head").exit == 5);
    CHECK(run("--server notaurl head").exit == 2);
}

}
