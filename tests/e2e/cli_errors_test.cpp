// The chunklog CLI's failure paths, run as a real process: an unexpected
// exception, a malformed or unwritable config file, init's refusal to
// replace the user, and strict argument parsing. Every failure has a
// documented exit code and, with --json, is exactly one JSON object.
#include "support/cli_fixture.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace chunklog::test;

namespace {

// The one JSON object `out` must be (a second object or text fails).
boost::json::object one_json_object(const std::string& out) {
    boost::system::error_code ec;
    auto v = boost::json::parse(out, ec);
    INFO("output: " << out);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

struct config_fixture : cli_fixture {
    std::filesystem::path config_dir = dir.path() / "a" / "chunklog";  // run()'s XDG_CONFIG_HOME is dir/a
    std::filesystem::path config_file = config_dir / "config.json";

    void write_config(const std::string& text) {
        std::filesystem::create_directories(config_dir);
        std::ofstream(config_file) << text;
    }
    std::string read_config() const {
        std::ifstream in(config_file);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    std::vector<std::string> config_dir_files() const {
        std::vector<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(config_dir)) names.push_back(e.path().filename());
        return names;
    }
    // Runs a command that must fail with exit code 1 and a JSON error naming `what`.
    void check_fails_naming(const std::string& args, const std::string& what) {
        CAPTURE(args);
        auto r = run("--json " + args);
        CHECK(r.exit == 1);
        auto e = one_json_object(r.out);
        CHECK(text(e.at("error")) == "internal");
        CHECK(text(e.at("message")).find(what) != std::string::npos);
    }
};

}  // namespace

TEST_SUITE("cli") {

TEST_CASE_FIXTURE(cli_fixture, "an unexpected exception is exit code 1 and one JSON error") {
    auto file = write_file("plain", "a regular file");
    auto r = run("--json --server " + server_url + " --user " + random_uuid() + " pull --out " + file + "/sub");
    CHECK(r.exit == 1);
    auto e = one_json_object(r.out);
    CHECK(text(e.at("error")) == "internal");
    CHECK(text(e.at("message")).find(file) != std::string::npos);
    CHECK(run("--server " + server_url + " --user " + random_uuid() + " pull --out " + file + "/sub").exit == 1);
}

TEST_CASE_FIXTURE(config_fixture, "a config directory that is a file is exit code 1 and one JSON error") {
    std::filesystem::create_directories(config_dir.parent_path());
    std::ofstream(config_dir) << "not a directory";
    check_fails_naming("--server " + server_url + " init", config_dir.string());
    CHECK(run("--server " + server_url + " init").exit == 1);
}

TEST_CASE_FIXTURE(config_fixture, "a malformed config is an error naming it, and is left untouched") {
    const std::vector<std::string> configs{
        R"({"server": "http://127.0.0.1:1", "user": )",  // cut short
        R"({"server": "http://127.0.0.1:1", "user": "bob"})",
        R"(["0f8fad5b-d9cb-469f-a165-70867728950e"])",
        "",
    };
    for (const auto& bad : configs) {
        CAPTURE(bad);
        write_config(bad);
        check_fails_naming("head", config_file.string());
        check_fails_naming("push " + write_file("f", "x"), config_file.string());
        check_fails_naming("init", config_file.string());
        check_fails_naming("--user " + random_uuid() + " init", config_file.string());
        check_fails_naming("task list", config_file.string());
        CHECK(run("init").exit == 1);
        CHECK(read_config() == bad);
    }
    std::filesystem::remove(config_file);
    std::filesystem::create_directories(config_file);  // unreadable: a directory
    check_fails_naming("head", config_file.string());
}

TEST_CASE_FIXTURE(config_fixture, "init writes a complete config, keeps its user, and replaces it only with --force") {
    auto init = run("--json --server " + server_url + " init");
    REQUIRE(init.exit == 0);
    auto user = text(one_json_object(init.out).at("user"));
    auto saved = one_json_object(read_config());
    CHECK(text(saved.at("user")) == user);
    auto token = text(saved.at("token"));  // claimed by init (open registration)
    CHECK(!token.empty());
    CHECK(text(saved.at("server")) == server_url);
    CHECK(config_dir_files() == std::vector<std::string>{"config.json"});  // no temp file left
    CHECK((std::filesystem::status(config_file).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);

    auto again = run("--json init");  // no --user: the saved one stays
    REQUIRE(again.exit == 0);
    CHECK(text(one_json_object(again.out).at("user")) == user);

    auto before = read_config();
    auto other = random_uuid();
    auto refused = run("--json --user " + other + " init");
    CHECK(refused.exit == 2);
    CHECK(text(one_json_object(refused.out).at("message")).find(user) != std::string::npos);
    CHECK(read_config() == before);

    REQUIRE(run("--user " + other + " init --force").exit == 0);
    CHECK(text(one_json_object(read_config()).at("user")) == other);
    CHECK(text(one_json_object(read_config()).at("server")) == server_url);  // the server is kept
    CHECK(config_dir_files() == std::vector<std::string>{"config.json"});

    write_config("{");
    REQUIRE(run("--server " + server_url + " --user " + user + " --token " + token + " init --force").exit == 0);
    CHECK(text(one_json_object(read_config()).at("user")) == user);
}

TEST_CASE_FIXTURE(cli_fixture, "a flag without its value, an unknown flag or a stray argument is a usage error") {
    REQUIRE(run("--server " + server_url + " init").exit == 0);
    for (std::string args : {"pull --out", "pull --from", "pull --from --out x", "head --wait 1 extra",
                             "info --verbose", "log extra", "cat", "push", "task list --all=yes", "task sync --now",
                             "task done", "task info 1 2", "--server", "--user"}) {
        CAPTURE(args);
        auto r = run("--json " + args);
        CHECK(r.exit == 2);
        CHECK(text(one_json_object(r.out).at("error")) == "usage");
    }
    CHECK(run("--server http://127.0.0.1:1 watch --count").exit == 2);  // not a network failure
    CHECK(run("--server --json head").exit == 2);

    // The documented forms still work, "=" and "--" included.
    auto h = run("head --json --wait=1");
    CHECK(h.exit == 0);
    auto head = text(one_json_object(h.out).at("head"));
    CHECK(run("pull --from=" + head).exit == 0);
    CHECK(run("pull --from " + head + " --out " + (dir.path() / "in").string()).exit == 0);
    auto dashed = write_file("--odd-name", "x");
    CHECK(run("push -- " + dashed).exit == 0);
}

}
