// commit_pipeline: the RocksDB store's path for its common writes (chunk
// PUT, transaction PUT, HEAD advance, publish), with no thread parked per
// request. A caller queues a write and goes on; one writer thread takes
// everything queued and makes groups of it. For each write of a group it
// takes the write's locks (the store's user_locks, as a direct writer would:
// the first write of a group waits for them, a later one only tries, and a
// write whose locks the group or another thread holds starts the next
// group), then plans it at its own save point of the group's one
// WriteBatch: a write whose rule fails is rolled back and fails alone. The
// group is committed with one synced write; then each write settles (its
// quota reservation learns the outcome) while the locks are held, the locks
// go, and each write delivers its result to its caller's callback, on the
// writer thread.
//
// Writes of one group never rely on each other's effects, with one
// exception: their lock sets (every id a write reads and relies on, and the
// user's HEAD) are disjoint, exactly as for concurrent direct writers, so
// each plan reads what earlier groups committed; but the HEAD writes of one
// user share its HEAD, each planned on the HEAD the one before it left (the
// order they are answered in is one they could have run in). An advance
// that commits only transactions its own write creates changes nothing a
// later plan reads outside its stripes but HEAD and the chain above the
// old HEAD (it also adds child entries under parents, which only a write
// holding the parent's stripe for itself reads); after one that commits
// others, the user's later writes wait for the next group. Clients racing
// on one HEAD are so answered together, the refused ones first, and the
// winner of one group is not always first in the queue for the next. If the
// batch is not committed, every write planned on an earlier one's HEAD gets
// the commit's error, whatever its plan said, and the HEAD the group
// planned is forgotten. Thread-safe; the destructor finishes every queued
// write.
#pragma once

#include "storage/rocksdb/user_locks.hpp"

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace chunklog::storage {

// One queued write. The pipeline calls plan() once (locks held), then
// settle() once (locks still held), then deliver() once (locks released),
// all on the writer thread; a write refused before planning gets only
// settle() and deliver().
class pipeline_write {
public:
    virtual ~pipeline_write() = default;
    // Adds the write to `batch`, or the reason it fails (then the pipeline
    // rolls `batch` back to where it was).
    virtual outcome<void> plan(rocksdb::WriteBatch& batch) = 0;
    // The outcome: the group's commit for a write that added to the batch,
    // success for one that added nothing, the plan's error for a failed
    // one; but a failed commit's error for every write planned on a HEAD
    // an earlier write of the group planned.
    virtual void settle(const outcome<void>& outcome) = 0;
    // Hands the result to the caller.
    virtual void deliver() = 0;
    // After a plan that succeeded: whether it commits transactions it did
    // not create, so that no later write of its user may join the group
    // (their chain entries and uncommitted marks, under no stripe of this
    // write, would read as before it).
    virtual bool closes_user() const { return false; }

    uuid user;
    bool needs_head = false;            // takes the user's HEAD mutex
    // Every id it relies on (into the write's own data): the ones it
    // creates or reads in any other way, and the transaction parents it
    // only reads (immutable records, which other writes of its group may
    // read too). An id in both is taken as the first kind.
    std::vector<std::string_view> ids;
    std::vector<std::string_view> shared_ids;
};

class commit_pipeline {
public:
    struct limits {
        std::size_t max_group_writes = 1024;
        std::size_t max_group_bytes = 64ULL << 20;  // a group closes once its batch is this large
    };
    // `commit` writes one group's batch (synced) and is called on the writer
    // thread only. `before_group` (may be empty) is called there before each
    // group is planned, with the number of writes waiting.
    commit_pipeline(user_locks& locks, std::function<outcome<void>(rocksdb::WriteBatch&)> commit, limits limits,
                    std::function<void(std::size_t waiting)> before_group = {});
    ~commit_pipeline();
    commit_pipeline(const commit_pipeline&) = delete;
    commit_pipeline& operator=(const commit_pipeline&) = delete;

    void submit(std::unique_ptr<pipeline_write> write);
    // Returns once every write submitted before the call has been delivered.
    void drain();

    // Totals since the pipeline started (for metrics and tests), counted
    // before the group's writes are delivered.
    std::uint64_t groups() const;
    std::uint64_t writes() const;

private:
    using queue = std::deque<std::unique_ptr<pipeline_write>>;
    void run();
    // Takes one group from the front of `waiting`, commits and delivers it;
    // returns how many writes it took.
    std::size_t run_group(queue& waiting);

    user_locks& locks_;
    std::function<outcome<void>(rocksdb::WriteBatch&)> commit_;
    limits limits_;
    std::function<void(std::size_t)> before_group_;

    mutable std::mutex mutex_;
    std::condition_variable work_;     // the writer waits for writes
    std::condition_variable drained_;  // drain() waits for deliveries
    queue queue_;                      // guarded by mutex_
    bool stopping_ = false;            // guarded by mutex_
    std::uint64_t submitted_ = 0;      // guarded by mutex_
    std::uint64_t delivered_ = 0;      // guarded by mutex_
    std::uint64_t groups_ = 0;         // guarded by mutex_; counted before the group's deliveries
    std::uint64_t grouped_ = 0;        // guarded by mutex_; the writes of those groups
    std::thread writer_;
};

}  // namespace chunklog::storage
