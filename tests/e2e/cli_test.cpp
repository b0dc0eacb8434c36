// The chunklog command-line client, run as a real process against the real
// server: each subcommand in text and --json, and the exit codes.
#include "support/cli_fixture.hpp"
#include "support/fake_server.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>

using namespace chunklog::test;


TEST_SUITE("cli") {

TEST_CASE_FIXTURE(cli_fixture, "two people share a log: push on one machine, pull on the other") {
    auto init = run("--server " + server_url + " --json init");
    REQUIRE(init.exit == 0);
    auto user = text(parse_json(init.out).at("user"));
    // A second device of the same user: a token made on the first.
    auto device = trimmed(run("token create --label b").out);
    REQUIRE(run("init --server " + server_url + " --user " + user + " --token " + device, "b").exit == 0);

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
    // A second writer advances HEAD between push's read of HEAD and its
    // publish: the fake server refuses the first publish with a conflict
    // naming that writer's transaction, and takes the rebased one.
    const auto other = random_uuid();
    std::mutex mutex;
    std::vector<boost::json::object> publishes;
    fake_server fake([&](const fake_request& r) {
        if (r.target.ends_with("/head")) return fake_response::http(200, R"({"head":")" + root_id_text + R"(","seq":0})");
        if (r.target.ends_with("/chunks/missing")) return fake_response::http(200, R"({"missing":[]})");
        std::lock_guard lock(mutex);
        publishes.push_back(parse_json(r.body).as_object());
        auto& t = publishes.back().at("transactions").as_array().at(0).as_object();
        if (publishes.size() == 1)
            return fake_response::http(409, R"({"error":"conflict","message":"HEAD moved","head":")" + other + R"("})");
        return fake_response::http(200, R"({"head":")" + text(t.at("id")) + R"(","seq":2})");
    });
    auto pushed = run("--json --server " + fake.url() + " --user " + random_uuid() + " push " + write_file("f", "x"));
    CHECK(pushed.exit == 0);
    std::lock_guard lock(mutex);
    REQUIRE(publishes.size() == 2);
    auto first = publishes[0].at("transactions").as_array().at(0).as_object();
    auto second = publishes[1].at("transactions").as_array().at(0).as_object();
    CHECK(text(first.at("parent")) == root_id_text);
    CHECK(text(second.at("parent")) == other);  // rebased on the HEAD the conflict named
    CHECK(text(second.at("id")) != text(first.at("id")));
    CHECK(text(publishes[1].at("head")) == text(second.at("id")));
    REQUIRE(pushed.exit == 0);
    auto result = parse_json(pushed.out);
    CHECK(result.at("attempts").to_number<int>() == 2);
    CHECK(text(result.at("transaction")) == text(second.at("id")));
}

TEST_CASE_FIXTURE(cli_fixture, "watch prints the next HEAD") {
    REQUIRE(run("--server " + server_url + " init").exit == 0);
    // Watching from the HEAD known now: whether the push lands before or
    // after the watcher's long poll starts, the watcher sees it.
    auto known = text(parse_json(run("head --json").out).at("head"));
    auto watcher = std::async(std::launch::async, [&] { return run("watch --count 1 --json --from " + known); });
    auto pushed = run("push " + write_file("w", "watched"));
    REQUIRE(pushed.exit == 0);
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
