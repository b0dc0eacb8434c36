// pool: at most `size` connections to the database, opened on demand and
// reused; a connection found broken is dropped and the next use opens a new
// one, so the store recovers by itself after the database restarts.
// transaction() executes a function as one database transaction, retrying
// serialization failures and deadlocks with a bound, and sends the
// hands on the notifications it asked for once it committed. Thread-safe.
#pragma once

#include "storage/postgresql/pg.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>

namespace chunklog::storage::pg {

class pool {
public:
    pool(std::string conninfo, std::size_t size, bool synchronous_commit);
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // A connection held until destroyed (returned to the pool, or dropped when broken).
    class lease {
    public:
        lease(pool& p, std::unique_ptr<connection> c) : pool_(&p), conn_(std::move(c)) {}
        lease(lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
        ~lease() {
            if (conn_) pool_->give_back(std::move(conn_));
        }
        connection& operator*() { return *conn_; }
        connection* operator->() { return conn_.get(); }

    private:
        pool* pool_;
        std::unique_ptr<connection> conn_;
    };

    // A connection; unavailable when the database cannot be reached or
    // every connection stays busy past the wait limit.
    outcome<lease> acquire();

    // Runs fn(connection&) -> outcome<T> inside BEGIN (`begin` names the
    // transaction's mode) ... COMMIT; rolls back when fn fails. A
    // serialization failure or deadlock (in fn or at COMMIT) runs it again,
    // up to max_attempts; a connection found broken at BEGIN is replaced.
    template <typename F>
    auto transaction(const char* begin, F&& fn) -> decltype(fn(std::declval<connection&>()));

    // Runs fn(connection&) -> outcome<T>, which makes one statement, outside
    // a transaction block (a statement alone is atomic and sees one state):
    // one round trip instead of three. Run again once on a fresh connection
    // when the one it had turns out broken (a database restart).
    template <typename F>
    auto statement(F&& fn) -> decltype(fn(std::declval<connection&>()));

    static constexpr int max_attempts = 8;

    // Where the notifications a committed transaction asked for go; set
    // before the pool is used.
    void on_committed_notifications(std::function<void(std::vector<connection::notification>)> f) {
        committed_notifications_ = std::move(f);
    }

private:
    void give_back(std::unique_ptr<connection> c);
    static void backoff(int attempt);

    std::string conninfo_;
    std::size_t size_;
    bool synchronous_commit_;
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::size_t open_ = 0;  // idle plus leased
    std::function<void(std::vector<connection::notification>)> committed_notifications_;
};

template <typename F>
auto pool::transaction(const char* begin, F&& fn) -> decltype(fn(std::declval<connection&>())) {
    using out = decltype(fn(std::declval<connection&>()));
    int replaced = 0;
    for (int attempt = 1;; ++attempt) {
        auto c = acquire();
        if (!c) return c.error();
        auto& conn = **c;
        conn.clear_failure();
        if (auto b = conn.run(begin); !b) {
            // A connection the database dropped (a restart) is found here: try a fresh one.
            if (conn.broken() && replaced++ < static_cast<int>(size_) + 1) {
                --attempt;
                continue;
            }
            return b.error();
        }
        conn.drop_notifications();
        out r = fn(conn);
        if (r) {
            auto committed = conn.run("COMMIT");
            if (committed) {
                if (auto n = conn.take_notifications(); !n.empty() && committed_notifications_)
                    committed_notifications_(std::move(n));
                return r;
            }
            if (!conn.last_failure() || !retryable(*conn.last_failure()) || attempt >= max_attempts)
                return committed.error();
        } else {
            bool retry = conn.last_failure() && retryable(*conn.last_failure()) && attempt < max_attempts;
            if (!conn.broken()) (void)conn.run("ROLLBACK");
            if (!retry) return r;
        }
        backoff(attempt);
    }
}

template <typename F>
auto pool::statement(F&& fn) -> decltype(fn(std::declval<connection&>())) {
    for (int attempt = 1;; ++attempt) {
        auto c = acquire();
        if (!c) return c.error();
        (*c)->clear_failure();
        auto r = fn(**c);
        if (r || !(*c)->broken() || attempt > 1) return r;
    }
}

}  // namespace chunklog::storage::pg
