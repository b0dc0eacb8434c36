#include "storage/postgresql/pool.hpp"

#include <libpq-fe.h>

#include <random>

namespace chunklog::storage::pg {
namespace {

// How long acquire() waits for a busy pool before answering unavailable.
constexpr auto busy_wait = std::chrono::seconds(10);

}  // namespace

pool::pool(std::string conninfo, std::size_t size, bool synchronous_commit)
    : conninfo_(std::move(conninfo)), size_(std::max<std::size_t>(size, 1)), synchronous_commit_(synchronous_commit) {}

pool::~pool() = default;

outcome<pool::lease> pool::acquire() {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, busy_wait, [&] { return !idle_.empty() || open_ < size_; }))
        return make_error(errc::unavailable, "every database connection stayed busy");
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return lease(*this, std::move(c));
    }
    ++open_;
    lock.unlock();
    auto c = connection::open(conninfo_);
    if (c && !synchronous_commit_)
        if (auto set = (*c)->run("SET synchronous_commit = off"); !set) c = set.error();
    if (!c) {
        std::lock_guard relock(mutex_);
        --open_;
        freed_.notify_one();
        return c.error();
    }
    return lease(*this, std::move(*c));
}

void pool::give_back(std::unique_ptr<connection> c) {
    std::lock_guard lock(mutex_);
    // A connection left inside a transaction (an abandoned cursor) is not reused.
    if (c->broken() || PQtransactionStatus(c->raw()) != PQTRANS_IDLE) --open_;
    else idle_.push_back(std::move(c));
    freed_.notify_one();
}

void pool::backoff(int attempt) {
    thread_local std::minstd_rand random{std::random_device{}()};
    auto ceiling = std::min(1 << attempt, 64);  // milliseconds
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, ceiling * 1000)(random)));
}

}  // namespace chunklog::storage::pg
