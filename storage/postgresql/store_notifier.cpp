#include "storage/postgresql/store_notifier.hpp"

#include "storage/postgresql/pg.hpp"

#include <cstdio>
#include <memory>

namespace chunklog::storage {
namespace {

constexpr auto reconnect_delay = std::chrono::seconds(1);
constexpr auto gather_time = std::chrono::milliseconds(2);

// Channel names and payloads are ours (names, uuids, hex): quoting them is a safeguard.
std::string quoted(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

}  // namespace

std::string notify_statements(std::string_view channel, const std::set<std::string>& payloads) {
    std::string sql, joined;
    auto flush = [&] {
        if (joined.empty()) return;
        sql += "SELECT pg_notify(" + quoted(channel) + ", " + quoted(joined) + ");";
        joined.clear();
    };
    for (const auto& p : payloads) {
        if (!joined.empty() && joined.size() + 1 + p.size() > store_notifier::max_payload) flush();
        if (!joined.empty()) joined += ' ';
        joined += p;
    }
    flush();
    return sql;
}

store_notifier::store_notifier(std::string conninfo, std::function<void(std::string_view)> log_error)
    : conninfo_(std::move(conninfo)), log_error_(std::move(log_error)) {
    thread_ = std::thread([this] { run(); });
}

store_notifier::~store_notifier() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    posted_.notify_one();
    thread_.join();
}

void store_notifier::post(const std::string& channel, const std::string& payload) {
    {
        std::lock_guard lock(mutex_);
        pending_[channel].insert(payload);
    }
    posted_.notify_one();
}

void store_notifier::report_failure() {
    auto message = "notifying other nodes failed; they see the changes at their next re-check";
    if (log_error_) log_error_(message);
    else std::fprintf(stderr, "chunklogd: %s\n", message);
}

void store_notifier::run() {
    std::unique_ptr<pg::connection> conn;
    bool failing = false;
    std::unique_lock lock(mutex_);
    for (;;) {
        posted_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, with everything sent
        // What else arrives meanwhile goes in the same transaction.
        posted_.wait_for(lock, gather_time, [&] { return stopping_; });
        batch b = std::move(pending_);
        pending_.clear();
        bool stopping = stopping_;
        lock.unlock();
        if (!conn && !stopping) {  // no new connection to stop: that could wait for a connect timeout
            auto opened = pg::connection::open(conninfo_);
            // Only wake-ups ride on it: its commits need not wait for the disk.
            if (opened && (*opened)->run_script("SET synchronous_commit = off")) conn = std::move(*opened);
        }
        std::string sql;
        for (const auto& [channel, payloads] : b) sql += notify_statements(channel, payloads);
        bool sent = conn && conn->run_script(sql);
        if (!sent) {
            conn.reset();
            if (!failing) report_failure();
        }
        failing = !sent;
        lock.lock();
        if (stopping) return;
        if (!sent) posted_.wait_for(lock, reconnect_delay, [&] { return stopping_; });
    }
}

}  // namespace chunklog::storage
