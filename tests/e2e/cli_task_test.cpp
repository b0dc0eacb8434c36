// `chunklog task` end to end: replicas as separate CLI processes, editing
// offline, converging through the real server, and surviving a kill in the
// middle of a sync.
#include "support/cli_fixture.hpp"
#include "support/outcome_printer.hpp"

#include <chunklog/client.hpp>
#include <chunklog/tasks/operations.hpp>

#include <boost/json.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <random>
#include <set>
#include <thread>

using namespace chunklog::test;

namespace {

struct task_fixture : cli_fixture {
    task_fixture() {
        auto init = run("--server " + server_url + " --json init");
        user = text(parse_json(init.out).at("user"));
    }
    std::string user;

    // Runs a task command on the replica named `name` (its own directory).
    cli_result task(const std::string& name, const std::string& args) const {
        return run("--replica " + (dir.path() / ("replica-" + name)).string() + " task " + args);
    }
    boost::json::array list_all(const std::string& name) const {
        return parse_json(task(name, "list --all --json").out).as_array();
    }
    // Task lists compared without the local working-set numbers.
    static std::set<std::string> canonical(boost::json::array tasks) {
        std::set<std::string> out;
        for (auto& t : tasks) {
            t.as_object().erase("id");
            out.insert(boost::json::serialize(t));
        }
        return out;
    }
};

}  // namespace

TEST_SUITE("cli_task") {

TEST_CASE_FIXTURE(task_fixture, "add, list, info, modify, done, delete in text and JSON") {
    CHECK(task("a", "add buy milk project:home").out.find("created task 1") != std::string::npos);
    CHECK(task("a", "add write report").exit == 0);
    auto listed = parse_json(task("a", "list --json").out).as_array();
    REQUIRE(listed.size() == 2);
    CHECK(text(listed[0].at("description")) == "buy milk");
    CHECK(text(listed[0].at("project")) == "home");
    CHECK(text(listed[0].at("status")) == "pending");
    CHECK(listed[0].at("id").to_number<int>() == 1);
    CHECK(!text(listed[0].at("modified")).empty());
    CHECK(task("a", "list").out.find("2  write report  [pending]") != std::string::npos);
    REQUIRE(task("a", "modify 1 priority:H project:").exit == 0);
    auto info = parse_json(task("a", "--json info 1").out);
    CHECK(text(info.at("priority")) == "H");
    CHECK_FALSE(info.as_object().contains("project"));
    REQUIRE(task("a", "done 1").exit == 0);
    REQUIRE(task("a", "delete " + text(listed[1].at("uuid"))).exit == 0);
    CHECK(parse_json(task("a", "list --json").out).as_array().empty());
    auto all = list_all("a");
    REQUIRE(all.size() == 2);
    std::set<std::string> statuses{text(all[0].at("status")), text(all[1].at("status"))};
    CHECK(statuses == std::set<std::string>{"completed", "deleted"});
    CHECK(all[0].at("id").is_null());
    CHECK(task("a", "info 9").exit == 4);
    CHECK(task("a", "add").exit == 2);
    CHECK(task("a", "frobnicate").exit == 2);
}

TEST_CASE_FIXTURE(task_fixture, "two replicas edit one task, one of them offline, and agree after syncing") {
    REQUIRE(task("a", "add shared task").exit == 0);
    REQUIRE(task("a", "sync").exit == 0);
    REQUIRE(task("b", "sync").exit == 0);
    auto id = text(parse_json(task("b", "list --json").out).as_array().at(0).at("uuid"));

    // b is offline: it edits, and its sync fails with the network exit code.
    REQUIRE(task("b", "modify " + id + " priority:L note:offline").exit == 0);
    CHECK(run("--server http://127.0.0.1:1 --replica " + (dir.path() / "replica-b").string() + " task sync").exit == 5);
    // a's edits below must carry later timestamps (milliseconds) than b's:
    // wait until the clock has passed the moment b's edit was over.
    auto b_done = std::chrono::system_clock::now();
    while (std::chrono::system_clock::now() <= b_done + std::chrono::milliseconds(1)) std::this_thread::yield();
    REQUIRE(task("a", "modify " + id + " priority:H").exit == 0);
    REQUIRE(task("a", "done " + id).exit == 0);

    REQUIRE(task("b", "sync").exit == 0);
    REQUIRE(task("a", "sync").exit == 0);
    REQUIRE(task("b", "sync").exit == 0);
    auto a = list_all("a"), b = list_all("b");
    CHECK(canonical(a) == canonical(b));
    REQUIRE(a.size() == 1);
    CHECK(text(a[0].at("priority")) == "H");        // the later update wins
    CHECK(text(a[0].at("note")) == "offline");      // the offline edit is kept
    CHECK(text(a[0].at("status")) == "completed");

    // A replica that joins late gets everything.
    REQUIRE(task("late", "sync").exit == 0);
    CHECK(canonical(list_all("late")) == canonical(a));
}

TEST_CASE_FIXTURE(task_fixture, "a replica killed during sync loses nothing and publishes nothing twice") {
    std::mt19937 rng(11);
    auto replica_dir = (dir.path() / "replica-k").string();
    constexpr int tasks_added = 15;
    for (int i = 0; i < tasks_added; ++i) {
        REQUIRE(task("k", "add task " + std::to_string(i)).exit == 0);
        auto command = std::string("env CHUNKLOG_ENCRYPTION_SECRET='") + task_secret + "' XDG_CONFIG_HOME=" +
                   (dir.path() / "a").string() + " " + CHUNKLOG_CLI_PATH +
                       " --replica " + replica_dir + " task sync >/dev/null 2>&1 & pid=$!; sleep 0.0" +
                       std::to_string(rng() % 10) + "; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null";
        (void)std::system(command.c_str());
    }
    REQUIRE(task("k", "sync").exit == 0);
    REQUIRE(task("fresh", "sync").exit == 0);
    CHECK(canonical(list_all("fresh")) == canonical(list_all("k")));
    CHECK(list_all("fresh").size() == tasks_added);

    // Every task was created exactly once on the server.
    chunklog::client_options o;
    o.server_url = server_url;
    o.user = *chunklog::uuid::parse(user);
    o.token = issue_token(server.port(), user);
    chunklog::client c(o);
    std::size_t create_ops = 0;
    auto key = chunklog::sealing_key::derive(task_secret, *chunklog::uuid::parse(user));
    REQUIRE(c.pull(chunklog::root_id, [&](const chunklog::pulled_transaction& t) -> chunklog::outcome<void> {
        REQUIRE(t.chunks.size() == 1);  // one version per transaction
        for (const auto& op : version_operations(key, t.record.parent, t.chunks[0]))
            if (op.type == chunklog::operation::kind::create) ++create_ops;
        return {};
    }));
    CHECK(create_ops == tasks_added);
}

TEST_CASE_FIXTURE(task_fixture, "sync --watch publishes new local operations and picks up remote ones") {
    auto replica_w = (dir.path() / "replica-w").string();
    auto command = std::string("env CHUNKLOG_ENCRYPTION_SECRET='") + task_secret + "' XDG_CONFIG_HOME=" +
                   (dir.path() / "a").string() + " " + CHUNKLOG_CLI_PATH +
                   " --replica " + replica_w + " task sync --watch >/dev/null 2>&1 & echo $!";
    FILE* pipe = ::popen(command.c_str(), "r");
    char pid_text[32] = {};
    REQUIRE(std::fgets(pid_text, sizeof pid_text, pipe) != nullptr);
    ::pclose(pipe);
    int watch_pid = std::atoi(pid_text);

    REQUIRE(run("--replica " + replica_w + " task add from the watched replica").exit == 0);
    REQUIRE(task("other", "add from another replica").exit == 0);
    REQUIRE(task("other", "sync").exit == 0);
    bool both = false;
    for (int i = 0; i < 100 && !both; ++i) {  // bounded: up to about 20 s
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        REQUIRE(task("other", "sync").exit == 0);
        both = list_all("other").size() == 2;
    }
    CHECK(both);
    ::kill(watch_pid, SIGKILL);  // its replica lock goes with it; the next open waits for that
    CHECK(run("--replica " + replica_w + " task list --all --json").exit == 0);
    CHECK(parse_json(run("--replica " + replica_w + " task list --all --json").out).as_array().size() == 2);
}

TEST_CASE_FIXTURE(task_fixture, "task sync needs the encryption secret, from a flag, the environment or the replica's config") {
    auto replica = (dir.path() / "replica-s").string();
    REQUIRE(run_cli_in(dir.path() / "a", "--replica " + replica + " task add kept locally").exit == 0);
    // No secret anywhere: refused, saying how to set one, and nothing changes.
    auto refused = run_command("env -u CHUNKLOG_ENCRYPTION_SECRET XDG_CONFIG_HOME=" + (dir.path() / "a").string() + " " +
                               CHUNKLOG_CLI_PATH + " --replica " + replica + " task sync 2>&1");
    CHECK(refused.exit == 2);
    CHECK(refused.out.find("no encryption secret") != std::string::npos);
    CHECK(refused.out.find("task config encryption-secret") != std::string::npos);
    auto status = run_cli_in(dir.path() / "a", "--replica " + replica + " task config encryption-secret");
    CHECK(status.exit == 1);
    // Saved in the replica, mode 0600, and used by a plain `task sync`.
    REQUIRE(run_cli_in(dir.path() / "a", "--replica " + replica + " task config encryption-secret '" + task_secret + "'")
                .exit == 0);
    auto file = std::filesystem::path(replica) / "encryption-secret";
    CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    CHECK(run_cli_in(dir.path() / "a", "--replica " + replica + " task config encryption-secret").exit == 0);
    REQUIRE(run_cli_in(dir.path() / "a", "--replica " + replica + " task sync").exit == 0);
    // Another replica with the flag reads it; one with a wrong secret is refused.
    CHECK(run_cli_in(dir.path() / "a", "--replica " + (dir.path() / "replica-f").string() +
                                           " --encryption-secret '" + task_secret + "' task sync")
              .exit == 0);
    CHECK(run_cli_in(dir.path() / "a", "--replica " + (dir.path() / "replica-f").string() +
                                           " task list --all --json")
              .out.find("kept locally") != std::string::npos);
    auto wrong = run_cli_in(dir.path() / "a", "--replica " + (dir.path() / "replica-w").string() +
                                                  " --encryption-secret wrong task sync");
    CHECK(wrong.exit != 0);
}

TEST_CASE_FIXTURE(task_fixture, "tags, dates, annotations and descriptions are written as Taskwarrior writes them") {
    REQUIRE(task("a", "add buy milk +shop +home project:errands due:2026-12-24 priority:H").exit == 0);
    REQUIRE(task("a", "modify 1 \"description:buy oat milk\" -home +urgent").exit == 0);
    REQUIRE(task("a", "annotate 1 the one in the blue carton").exit == 0);
    auto t = parse_json(task("a", "--json info 1").out).as_object();
    CHECK(text(t.at("description")) == "buy oat milk");
    CHECK(text(t.at("tag_shop")) == "x");
    CHECK(text(t.at("tag_urgent")) == "x");
    CHECK_FALSE(t.contains("tag_home"));
    CHECK(text(t.at("tags")) == "shop,urgent");
    CHECK(text(t.at("project")) == "errands");
    CHECK(text(t.at("priority")) == "H");
    auto due = std::stoll(text(t.at("due")));
    CHECK(due > 1'798'000'000);  // 2026-12-24, local midnight, in epoch seconds
    CHECK(due < 1'798'200'000);
    std::size_t annotations = 0;
    for (const auto& [k, v] : t)
        if (k.starts_with("annotation_")) {
            ++annotations;
            CHECK(text(v) == "the one in the blue carton");
        }
    CHECK(annotations == 1);
    CHECK(task("a", "modify 1 due:someday").exit == 2);
    REQUIRE(task("a", "done 1").exit == 0);
    CHECK(parse_json(task("a", "--json info " + text(t.at("uuid"))).out).as_object().contains("end"));
}

}
