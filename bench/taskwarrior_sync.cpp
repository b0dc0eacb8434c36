#include "bench/taskwarrior_sync.hpp"

#include "bench/server_metrics.hpp"
#include "bench/taskwarrior_versions.hpp"

#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/tasks/replica.hpp>
#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace chunklog::bench {
namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr std::size_t versions_per_publish = 250;

double seconds_since(steady::time_point start) { return std::chrono::duration<double>(steady::now() - start).count(); }

// The sid root, or "" with `why_not` said.
fs::path taskwarrior_root(const bench_options& options, std::string& why_not) {
    fs::path root = options.taskwarrior_root;
    if (root.empty()) {
        const char* env = std::getenv("CHUNKLOG_TW_ROOT");
        const char* home = std::getenv("HOME");
        if (env != nullptr && *env != '\0') root = env;
        else root = fs::path(home != nullptr ? home : "/root") / ".cache/chunklog/sid-taskwarrior";
    }
    if (!fs::exists(root / "usr/bin/task"))
        why_not = "no Taskwarrior at " + (root / "usr/bin/task").string() +
                  " (make the root with scripts/taskwarrior-root.sh, or pass --taskwarrior-root)";
    else if (::geteuid() != 0) why_not = "entering the Taskwarrior root needs root (chroot)";
    else if (options.tls) why_not = "not over TLS: Taskwarrior trusts only the system's CA store";
    return why_not.empty() ? root : fs::path();
}

struct command_output {
    int exit = -1;
    std::string out;  // stdout and stderr
};

command_output run_command(const std::string& command) {
    command_output r;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) throw std::runtime_error("cannot run " + command);
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe.get())) r.out.append(buffer, n);
    int status = ::pclose(pipe.release());
    r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// A Taskwarrior replica in a fresh directory inside the root, removed with the object.
class taskwarrior_dir {
public:
    taskwarrior_dir(const fs::path& root, const std::string& name, const std::string& url, const uuid& user)
        : root_(root), inside_("/tmp/" + name) {
        fs::remove_all(outside());
        fs::create_directories(outside() / "data");
        std::ofstream(outside() / "taskrc") << "data.location=" << inside_ << "/data\n"
                                            << "sync.server.url=" << url << "\n"
                                            << "sync.server.client_id=" << user.to_string() << "\n"
                                            << "sync.encryption_secret=" << bench_encryption_secret << "\n"
                                            << "confirmation=off\nhooks=off\nrecurrence=off\nnews.version=9.9.9\n";
    }
    ~taskwarrior_dir() {
        std::error_code ignored;
        fs::remove_all(outside(), ignored);
    }
    taskwarrior_dir(const taskwarrior_dir&) = delete;
    taskwarrior_dir& operator=(const taskwarrior_dir&) = delete;

    // `task ARGS`, failing loudly unless it exits 0.
    std::string task(const std::string& args) const {
        auto r = run_command("chroot " + root_.string() + " env HOME=" + inside_ + " TASKRC=" + inside_ +
                             "/taskrc task rc.verbose=nothing " + args + " 2>&1 </dev/null");
        if (r.exit != 0) throw std::runtime_error("taskwarrior-sync: `task " + args + "` failed: " + r.out);
        return r.out;
    }

private:
    fs::path outside() const { return root_ / inside_.substr(1); }
    fs::path root_;
    std::string inside_;
};

// Publishes `n` versions (one `task add` each) for the client's user;
// returns HEAD.
uuid publish_versions(client& c, const sealing_key& key, std::size_t n) {
    uuid parent = root_id;
    auto ns = now_ns();
    for (std::size_t done = 0; done < n;) {
        publish_batch batch;
        for (std::size_t i = 0; i < versions_per_publish && done < n; ++i, ++done) {
            batch.chunks.push_back(task_add_version(key, parent, uuid::random(), done, ns + static_cast<std::int64_t>(done)));
            batch.transactions.push_back({uuid::random(), parent, 0, {sha256_of(batch.chunks.back())}});
            parent = batch.transactions.back().id;
        }
        batch.head = parent;
        if (auto r = c.publish(batch); !r) throw std::runtime_error("taskwarrior-sync: publish failed: " + r.error().message);
    }
    return parent;
}

std::size_t pending_count(const taskwarrior_dir& tw) {
    auto out = tw.task("status:pending count");
    try {
        return static_cast<std::size_t>(std::stoull(out));
    } catch (const std::exception&) {
        throw std::runtime_error("taskwarrior-sync: `task count` printed no number: " + out);
    }
}

// One fresh Taskwarrior replica: its first sync, timed, with the server's
// count of requests and their time around it, then an idle sync.
taskwarrior_sync_run taskwarrior_once(const fs::path& root, int index, const std::string& url, const uuid& user,
                                      metrics_reader& metrics) {
    taskwarrior_dir tw(root, "chunklog-bench-tw-" + std::to_string(::getpid()) + "-" + std::to_string(index), url, user);
    taskwarrior_sync_run run;
    auto before = metrics.read();
    auto started = steady::now();
    tw.task("sync");
    run.seconds = seconds_since(started);
    auto after = metrics.read();
    // The first read's own request is counted after its answer: subtract it.
    auto counted = required_metric(after, "chunklog_request_duration_seconds_count") -
                   required_metric(before, "chunklog_request_duration_seconds_count");
    run.requests = counted >= 1 ? static_cast<std::uint64_t>(counted) - 1 : 0;
    run.server_seconds = required_metric(after, "chunklog_request_duration_seconds_sum") -
                         required_metric(before, "chunklog_request_duration_seconds_sum");
    run.tasks = pending_count(tw);
    started = steady::now();
    tw.task("sync");
    run.idle_seconds = seconds_since(started);
    return run;
}

// A fresh chunklog task replica's sync of the same versions; returns its tasks.
task_set replica_sync(const client_options& co, const sealing_key& key, taskwarrior_sync_result& result) {
    task_set tasks;
    auto dir = fs::temp_directory_path() / ("chunklog-bench-tw-replica-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    {
        auto replica = replica::open(dir);
        if (!replica) throw std::runtime_error("taskwarrior-sync: cannot open a replica: " + replica.error().message);
        client c(co);
        auto started = steady::now();
        auto synced = (*replica)->sync(c, key);
        result.replica_seconds = seconds_since(started);
        if (!synced) throw std::runtime_error("taskwarrior-sync: the replica's sync failed: " + synced.error().message);
        tasks = (*replica)->tasks().value();
        result.replica_tasks = tasks.size();
    }
    fs::remove_all(dir);
    return tasks;
}

// Writes `tasks`, the state at `head`, as the user's snapshot in TaskChampion's format.
void write_snapshot(client& c, const sealing_key& key, const uuid& head, const task_set& tasks,
                    taskwarrior_sync_result& result) {
    std::vector<std::string> chunks{key.seal(encode_taskchampion_snapshot(tasks), head)};
    auto written = c.put_snapshot(head, chunks);
    if (!written) throw std::runtime_error("taskwarrior-sync: PUT snapshot failed: " + written.error().message);
    if (!written->created) throw std::runtime_error("taskwarrior-sync: the server kept another snapshot");
    result.snapshot_bytes = chunks.front().size();
}

}  // namespace

taskwarrior_sync_result run_taskwarrior_sync(const bench_options& options, token_book& tokens,
                                             const std::string& metrics_token) {
    taskwarrior_sync_result result;
    auto root = taskwarrior_root(options, result.skipped);
    if (root.empty()) return result;
    result.versions = options.pull_count;
    auto user = uuid::random();
    auto co = tokens.client_for(user);
    const auto key = sealing_key::derive(bench_encryption_secret, user);
    client c(co);
    auto started = steady::now();
    auto head = publish_versions(c, key, result.versions);
    result.publish_seconds = seconds_since(started);

    auto url = tokens.link().url();  // http://HOST:PORT; a token goes in as the Basic password
    if (!co.token.empty()) url.insert(url.find("//") + 2, "tw:" + co.token + "@");
    url += "/";
    auto version = run_command("chroot " + root.string() + " task --version 2>&1");
    result.taskwarrior_version = version.out.substr(0, version.out.find('\n'));
    metrics_reader metrics(tokens.link(), metrics_token);
    for (int i = 0; i < taskwarrior_runs; ++i) {
        result.runs.push_back(taskwarrior_once(root, i, url, user, metrics));
        if (result.runs.back().tasks != result.versions)
            throw std::runtime_error("taskwarrior-sync: Taskwarrior has " + std::to_string(result.runs.back().tasks) +
                                     " pending tasks after its sync, not " + std::to_string(result.versions));
    }
    auto tasks = replica_sync(co, key, result);
    if (result.replica_tasks != result.versions)
        throw std::runtime_error("taskwarrior-sync: the chunklog replica has the wrong number of tasks");
    write_snapshot(c, key, head, tasks, result);
    result.from_snapshot = taskwarrior_once(root, taskwarrior_runs, url, user, metrics);
    if (result.from_snapshot.tasks != result.versions)
        throw std::runtime_error("taskwarrior-sync: Taskwarrior has the wrong number of tasks after starting from "
                                 "the snapshot");
    return result;
}

void report_taskwarrior_sync(const taskwarrior_sync_result& r, bool json_out) {
    namespace json = boost::json;
    if (!r.skipped.empty()) {
        if (json_out) std::cout << json::serialize(json::object{{"workload", "taskwarrior-sync"}, {"skipped", r.skipped}}) << std::endl;
        else std::printf("taskwarrior-sync: skipped: %s\n", r.skipped.c_str());
        return;
    }
    auto run_json = [](const taskwarrior_sync_run& run) {
        return json::object{{"seconds", run.seconds}, {"idle_seconds", run.idle_seconds}, {"requests", run.requests},
                            {"server_seconds", run.server_seconds}, {"tasks", run.tasks}};
    };
    if (json_out) {
        json::array runs;
        for (const auto& run : r.runs) runs.push_back(run_json(run));
        std::cout << json::serialize(json::object{{"workload", "taskwarrior-sync"}, {"taskwarrior", r.taskwarrior_version},
                                                  {"versions", r.versions}, {"publish_seconds", r.publish_seconds},
                                                  {"runs", runs}, {"replica_seconds", r.replica_seconds},
                                                  {"replica_tasks", r.replica_tasks},
                                                  {"snapshot_bytes", r.snapshot_bytes},
                                                  {"from_snapshot", run_json(r.from_snapshot)}})
                  << std::endl;
        return;
    }
    std::printf("taskwarrior-sync: %zu versions published in %.3f s; Taskwarrior %s\n", r.versions, r.publish_seconds,
                r.taskwarrior_version.c_str());
    std::printf("%-28s %9s %9s %15s %13s %7s\n", "fresh replica", "seconds", "requests", "server seconds",
                "idle sync s", "tasks");
    auto print_run = [](const char* name, const taskwarrior_sync_run& run) {
        std::printf("%-28s %9.3f %9llu %15.3f %13.3f %7zu\n", name, run.seconds,
                    static_cast<unsigned long long>(run.requests), run.server_seconds, run.idle_seconds, run.tasks);
    };
    for (const auto& run : r.runs) print_run("task sync (Taskwarrior)", run);
    std::printf("%-28s %9.3f %9s %15s %13s %7zu\n", "chunklog task replica sync", r.replica_seconds, "", "", "",
                r.replica_tasks);
    print_run("task sync from the snapshot", r.from_snapshot);
    std::printf("the snapshot: %llu bytes, written at HEAD from the chunklog replica's tasks\n",
                static_cast<unsigned long long>(r.snapshot_bytes));
}

}  // namespace chunklog::bench
