// A real Taskwarrior 3 replica for end-to-end tests: `task` from the Debian
// sid root named by CHUNKLOG_TW_ROOT (scripts/taskwarrior-root.sh, which
// scripts/test.sh runs), entered with chroot, with its own taskrc and data
// in a fresh directory inside that root, syncing to a chunklogd on
// 127.0.0.1. One object per replica; not shared between threads (replicas
// in different threads are independent).
#pragma once

#include "support/command.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>

namespace chunklog::test {

class taskwarrior_replica {
public:
    // The sid root, or nullopt (with the reason) when the tests must be skipped.
    static std::optional<std::filesystem::path> root(std::string& why_not) {
        const char* root = std::getenv("CHUNKLOG_TW_ROOT");
        if (root == nullptr || *root == '\0') {
            why_not = "CHUNKLOG_TW_ROOT is not set (scripts/test.sh sets it from scripts/taskwarrior-root.sh)";
            return std::nullopt;
        }
        if (!std::filesystem::exists(std::filesystem::path(root) / "usr/bin/task")) {
            why_not = std::string("no usr/bin/task in CHUNKLOG_TW_ROOT=") + root;
            return std::nullopt;
        }
        if (::geteuid() != 0) {
            why_not = "chroot needs root";
            return std::nullopt;
        }
        return std::filesystem::path(root);
    }

    // `url` is sync.server.url as the user writes it (it may hold user:token@).
    taskwarrior_replica(const std::filesystem::path& root, const std::string& url, const std::string& client_id,
                        const std::string& secret)
        : root_(root) {
        std::random_device rd;
        inside_ = "/tmp/chunklog-tw-" + std::to_string(rd()) + std::to_string(rd());
        std::filesystem::create_directories(outside() / "data");
        std::ofstream(outside() / "taskrc") << "data.location=" << inside_ << "/data\n"
                                            << "sync.server.url=" << url << "\n"
                                            << "sync.server.client_id=" << client_id << "\n"
                                            << "sync.encryption_secret=" << secret << "\n"
                                            << "confirmation=off\nhooks=off\nrecurrence=off\nnews.version=9.9.9\n";
    }
    ~taskwarrior_replica() {
        std::error_code ec;
        std::filesystem::remove_all(outside(), ec);
    }
    taskwarrior_replica(const taskwarrior_replica&) = delete;
    taskwarrior_replica& operator=(const taskwarrior_replica&) = delete;

    // Runs `task ARGS` (ARGS as shell words), stderr folded into the output.
    command_result task(const std::string& args) const {
        return run_command("chroot " + root_.string() + " env HOME=" + inside_ + " TASKRC=" + inside_ +
                           "/taskrc task rc.verbose=nothing " + args + " 2>&1 </dev/null");
    }

    // Writes a file in the replica's directory; its path as `task` sees it.
    std::string write_file(const std::string& name, const std::string& bytes) const {
        std::ofstream(outside() / name, std::ios::binary) << bytes;
        return inside_ + "/" + name;
    }

    // `task export` of every task, parsed.
    boost::json::array export_all() const {
        auto r = task("export");
        INFO(r.out);
        REQUIRE(r.exit == 0);
        return boost::json::parse(r.out).as_array();
    }

private:
    std::filesystem::path outside() const { return root_ / inside_.substr(1); }

    std::filesystem::path root_;
    std::string inside_;  // the replica's directory as seen inside the root
};

}  // namespace chunklog::test
