// The CLI's side of protocol section 7 without the real server: exit codes,
// durations and byte counts, the new global options and config fields, and
// init / token / admin against a fake server (what they send, what they
// save, what they print when registration is closed).
#include "support/command.hpp"
#include "support/fake_server.hpp"
#include "support/outcome_printer.hpp"
#include "support/temp_dir.hpp"

#include "cli/config.hpp"
#include "cli/options.hpp"
#include "cli/units.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace chunklog;
using namespace chunklog::cli;
using test::fake_request;
using test::fake_response;
using test::fake_server;

namespace {

// The CLI as a process, its config under `home`, stderr dropped.
test::command_result run_cli(const test::temp_dir& home, const std::string& args, const std::string& env = {}) {
    return test::run_cli_in(home.path(), args, env);
}

boost::json::object json_of(const std::string& text) {
    INFO("output: " << text);
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::string text_of(const boost::json::value& v) { return std::string(v.as_string()); }

std::filesystem::path config_file(const test::temp_dir& home) { return home.path() / "chunklog" / "config.json"; }

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The user id of a path /0.1/{user}/...
std::string user_in(const std::string& target) { return target.substr(5, 36); }

const std::string new_token_body = R"({"id":"tid","token":"SECRET_1","label":"l","scope":"write",)"
                                   R"("created":"2026-11-30T12:00:00Z","expires":null})";
const std::string summary_body =
    R"({"user":"u","head":"00000000-0000-0000-0000-000000000000","seq":0,"transactions":0,"chunks":0,"bytes":0})";
const std::string closed_message =
    "registration is closed on this server: ask its admin to run `chunklog admin user create` and then run "
    "`chunklog init --user ID --token TOKEN`";

fake_response error_answer(unsigned status, const std::string& code) {
    return fake_response::http(status, R"({"error":")" + code + R"(","message":"no"})");
}

// Sets an environment variable for one scope.
struct scoped_env {
    scoped_env(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_SUITE("cli access") {

TEST_CASE("every error code has its documented exit code") {
    CHECK(exit_code_for(errc::conflict) == 3);
    CHECK(exit_code_for(errc::not_found) == 4);
    CHECK(exit_code_for(errc::missing_chunks) == 4);
    CHECK(exit_code_for(errc::network) == 5);
    CHECK(exit_code_for(errc::unavailable) == 5);
    CHECK(exit_code_for(errc::unauthorized) == 6);
    CHECK(exit_code_for(errc::forbidden) == 7);
    CHECK(exit_code_for(errc::too_many_requests) == 8);
    CHECK(exit_code_for(errc::quota_exceeded) == 9);
    CHECK(exit_code_for(errc::insufficient_storage) == 9);
    CHECK(exit_code_for(errc::tls_failure) == 10);
    CHECK(exit_code_for(errc::internal) == 1);
    CHECK(exit_code_for(errc::history_truncated) == 1);
    CHECK(code_from_name(code_name(errc::tls_failure)) == errc::tls_failure);
}

TEST_CASE("durations: seconds, or a number with s, m, h or d") {
    using std::chrono::seconds;
    CHECK(parse_duration("90") == seconds(90));
    CHECK(parse_duration("30s") == seconds(30));
    CHECK(parse_duration("15m") == seconds(900));
    CHECK(parse_duration("12h") == seconds(43200));
    CHECK(parse_duration("30d") == seconds(30 * 86400));
    CHECK(parse_duration("36500d") == seconds(36500ll * 86400));
    for (const char* bad :
         {"", "0", "0d", "-1", "1.5h", "10x", "h", "1 h", " 1", "1hh", "36501d", "99999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("byte counts: bytes, or K, M, G, T as powers of 1024") {
    CHECK(parse_byte_count("0") == 0u);
    CHECK(parse_byte_count("1048576") == 1048576u);
    CHECK(parse_byte_count("512K") == 512u * 1024);
    CHECK(parse_byte_count("10G") == std::uint64_t{10} << 30);
    CHECK(parse_byte_count("2T") == std::uint64_t{2} << 40);
    for (const char* bad : {"", "K", "-1", "1.5G", "10k", "10GB", "default", "18446744073709551616", "16777216T"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_byte_count(bad));
    }
}

TEST_CASE("--token, --ca-file and --admin-token are global options, before or after the command") {
    global_options g;
    REQUIRE_FALSE(parse_global_options({"--token", "T", "token", "create", "--ca-file=/ca.pem", "--label", "x",
                                        "--admin-token", "A"},
                                       g));
    CHECK(g.token == std::optional<std::string>("T"));
    CHECK(g.ca_file == std::optional<std::string>("/ca.pem"));
    CHECK(g.admin_token == std::optional<std::string>("A"));
    CHECK(g.command == "token");
    CHECK(g.args == std::vector<std::string>{"create", "--label", "x"});
    global_options missing;
    CHECK(parse_global_options({"info", "--token"}, missing));
    global_options flag_as_value;
    CHECK(parse_global_options({"info", "--token", "--json"}, flag_as_value));
}

TEST_CASE("the config keeps token and CA file, and the environment and flags win over it") {
    test::temp_dir home;
    scoped_env xdg("XDG_CONFIG_HOME", home.path().string());
    scoped_env no_token("CHUNKLOG_TOKEN", "");
    scoped_env no_ca("CHUNKLOG_CA_FILE", "");
    config c;
    c.user = uuid::random().to_string();
    c.token = "saved-token";
    c.ca_file = "/etc/ca.pem";
    c.admin_token = "never-saved";
    REQUIRE(save_config(c));
    CHECK(read_text(config_file(home)).find("never-saved") == std::string::npos);
    CHECK((std::filesystem::status(config_file(home)).permissions() & std::filesystem::perms::group_all) ==
          std::filesystem::perms::none);
    auto loaded = load_config();
    REQUIRE(loaded);
    REQUIRE(*loaded);
    CHECK((*loaded)->token == "saved-token");
    CHECK((*loaded)->ca_file == "/etc/ca.pem");
    CHECK((*loaded)->admin_token.empty());
    {
        scoped_env token("CHUNKLOG_TOKEN", "env-token");
        global_options g;
        CHECK(resolve_config(g)->token == "env-token");
        g.token = "flag-token";
        CHECK(resolve_config(g)->token == "flag-token");
    }
    std::ofstream(config_file(home)) << R"({"user":")" + c.user + R"(","token":5})";
    auto bad = load_config();
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find(config_file(home).string()) != std::string::npos);
}

TEST_CASE("init claims a new user with its first token where registration is open, and saves both") {
    test::temp_dir home;
    fake_server server([](const fake_request&) { return fake_response::http(201, new_token_body); });
    auto r = run_cli(home, "--json --server " + server.url() + " init");
    REQUIRE(r.exit == 0);
    auto out = json_of(r.out);
    auto seen = server.received();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].method == "POST");
    CHECK(seen[0].target == "/0.1/" + text_of(out.at("user")) + "/tokens");
    CHECK(json_of(seen[0].body).at("scope") == "write");
    CHECK(text_of(out.at("token_id")) == "tid");
    CHECK(r.out.find("SECRET_1") == std::string::npos);  // the secret goes to the config only
    auto saved = json_of(read_text(config_file(home)));
    CHECK(saved.at("user") == out.at("user"));
    CHECK(saved.at("token") == "SECRET_1");
    CHECK((std::filesystem::status(config_file(home)).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);
}

TEST_CASE("init on a server with closed registration says what to do, and saves nothing") {
    for (auto answer : {std::tuple{401u, "unauthorized", 6}, {403u, "forbidden", 7}}) {
        auto status = std::get<0>(answer);  // named copies: clang 14 cannot capture structured bindings
        auto code = std::get<1>(answer);
        auto exit = std::get<2>(answer);
        CAPTURE(code);
        test::temp_dir home;
        fake_server server([&](const fake_request&) { return error_answer(status, code); });
        auto r = run_cli(home, "--json --server " + server.url() + " init");
        CHECK(r.exit == exit);
        auto out = json_of(r.out);
        CHECK(text_of(out.at("error")) == code);
        CHECK(text_of(out.at("message")) == closed_message);
        CHECK_FALSE(std::filesystem::exists(config_file(home)));
    }
}

TEST_CASE("init --user --token checks them with one request, then saves them") {
    test::temp_dir home;
    const auto user = uuid::random().to_string();
    std::atomic<bool> accept{false};
    fake_server server([&](const fake_request&) {
        return accept ? fake_response::http(200, summary_body) : error_answer(401, "unauthorized");
    });
    auto args = "--json --server " + server.url() + " init --user " + user + " --token GIVEN";
    auto refused = run_cli(home, args);
    CHECK(refused.exit == 6);
    CHECK_FALSE(std::filesystem::exists(config_file(home)));
    accept = true;
    REQUIRE(run_cli(home, args).exit == 0);
    auto seen = server.received();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].method == "GET");
    CHECK(seen[1].target == "/0.1/" + user);
    auto saved = json_of(read_text(config_file(home)));
    CHECK(text_of(saved.at("user")) == user);
    CHECK(text_of(saved.at("token")) == "GIVEN");

    // A later init keeps user and token (checked again); another user needs --force and drops the old token.
    REQUIRE(run_cli(home, "init").exit == 0);
    CHECK(text_of(json_of(read_text(config_file(home))).at("token")) == "GIVEN");
    const auto other = uuid::random().to_string();
    CHECK(run_cli(home, "init --user " + other).exit == 2);
    accept = false;  // the claim of `other` without a token is refused: closed registration
    auto r = run_cli(home, "--json init --force --user " + other);
    CHECK(r.exit == 6);
    CHECK(text_of(json_of(r.out).at("message")).find("init --user " + other + " --token TOKEN") != std::string::npos);
    CHECK(text_of(json_of(read_text(config_file(home))).at("user")) == user);
    seen = server.received();
    REQUIRE(seen.size() == 5);  // the claim, then a read without a token (refused too)
    CHECK(seen[3].target == "/0.1/" + other + "/tokens");
    CHECK(seen[4].target == "/0.1/" + other);
}

TEST_CASE("init on a server without authentication (--auth none) saves the user alone") {
    test::temp_dir home;
    fake_server server([](const fake_request& r) {
        return r.method == "POST" ? error_answer(401, "unauthorized") : fake_response::http(200, summary_body);
    });
    REQUIRE(run_cli(home, "--server " + server.url() + " init").exit == 0);
    auto saved = json_of(read_text(config_file(home)));
    CHECK(saved.contains("user"));
    CHECK_FALSE(saved.contains("token"));
}

TEST_CASE("init against a server without tokens (protocol 0.1) saves the user alone") {
    test::temp_dir home;
    fake_server server([](const fake_request&) { return error_answer(404, "not_found"); });
    REQUIRE(run_cli(home, "--server " + server.url() + " init").exit == 0);
    auto saved = json_of(read_text(config_file(home)));
    CHECK(saved.contains("user"));
    CHECK_FALSE(saved.contains("token"));
}

TEST_CASE("token create, list and revoke") {
    test::temp_dir home;
    fake_server server([](const fake_request& r) {
        if (r.method == "POST") return fake_response::http(201, new_token_body);
        if (r.method == "GET")
            return fake_response::http(200, R"({"tokens":[{"id":"tid","label":"l","scope":"write",)"
                                            R"("created":"2026-11-30T12:00:00Z","expires":null}]})");
        return fake_response::http(204, "");
    });
    const auto where = "--server " + server.url() + " --user " + uuid::random().to_string() + " --token T ";
    auto created = run_cli(home, where + "token create --label phone --read-only --expires-in 30d");
    REQUIRE(created.exit == 0);
    CHECK(created.out == "SECRET_1\n");
    auto body = json_of(server.received().at(0).body);
    CHECK(body.at("label") == "phone");
    CHECK(body.at("scope") == "read");
    CHECK(body.at("expires_in") == 30 * 86400);
    CHECK(run_cli(home, where + "token create --expires-in 1.5d").exit == 2);
    CHECK(server.requests() == 1);

    auto listed = run_cli(home, "--json " + where + "token list");
    REQUIRE(listed.exit == 0);
    auto tokens = json_of(listed.out).at("tokens").as_array();
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0].at("id") == "tid");
    CHECK(tokens[0].at("expires").is_null());

    REQUIRE(run_cli(home, where + "token revoke tid").exit == 0);
    CHECK(server.received().back().method == "DELETE");
    CHECK(server.received().back().target.ends_with("/tokens/tid"));
    CHECK(run_cli(home, where + "token revoke").exit == 2);
    CHECK(run_cli(home, where + "token").exit == 2);
}

TEST_CASE("admin user create makes a random user's first token, admin quota sets or resets a quota") {
    test::temp_dir home;
    fake_server server([](const fake_request& r) {
        return r.method == "POST" ? fake_response::http(201, new_token_body) : fake_response::http(204, "");
    });
    CHECK(run_cli(home, "--server " + server.url() + " admin user create").exit == 2);  // no admin token
    auto made = run_cli(home, "--json --server " + server.url() + " admin user create --label bob",
                        "CHUNKLOG_ADMIN_TOKEN=ADMIN");
    REQUIRE(made.exit == 0);
    auto out = json_of(made.out);
    CHECK(text_of(out.at("token")) == "SECRET_1");
    auto seen = server.received();
    REQUIRE(seen.size() == 1);
    CHECK(user_in(seen[0].target) == text_of(out.at("user")));
    CHECK(json_of(seen[0].body).at("label") == "bob");

    const auto user = uuid::random().to_string();
    const auto admin = "--server " + server.url() + " --admin-token ADMIN admin quota " + user + " ";
    REQUIRE(run_cli(home, admin + "10G").exit == 0);
    REQUIRE(run_cli(home, admin + "default").exit == 0);
    CHECK(run_cli(home, admin + "lots").exit == 2);
    CHECK(run_cli(home, "--server " + server.url() + " --admin-token A admin quota not-a-uuid 5").exit == 2);
    seen = server.received();
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].method == "PUT");
    CHECK(seen[1].target == "/0.1/" + user + "/quota");
    CHECK(boost::json::parse(seen[1].body) == boost::json::parse(R"({"bytes":10737418240})"));
    CHECK(boost::json::parse(seen[2].body) == boost::json::parse(R"({"bytes":null})"));
}

TEST_CASE("401, 403, 429, 507 and a TLS failure have their exit codes") {
    test::temp_dir home;
    const std::vector<std::tuple<fake_response, int>> answers{
        {error_answer(401, "unauthorized"), 6},
        {error_answer(403, "forbidden"), 7},
        {{"HTTP/1.1 429 No\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n", false}, 8},
        {error_answer(507, "quota_exceeded"), 9},
        {error_answer(507, "insufficient_storage"), 9},
    };
    for (const auto& entry : answers) {
        const auto& answer = std::get<0>(entry);  // named: clang 14 cannot capture structured bindings
        auto exit = std::get<1>(entry);
        CAPTURE(exit);
        fake_server server([&](const fake_request&) { return answer; });
        auto r = run_cli(home, "--json --server " + server.url() + " --user " + uuid::random().to_string() + " info");
        CHECK(r.exit == exit);
        CHECK(json_of(r.out).contains("error"));
    }
    fake_server plain([](const fake_request&) { return fake_response::http(200, summary_body); });
    auto https = "https://127.0.0.1:" + std::to_string(plain.port());
    CHECK(run_cli(home, "--server " + https + " --user " + uuid::random().to_string() + " info").exit == 10);
}

}  // TEST_SUITE
