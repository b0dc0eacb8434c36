#include "storage/rocksdb/commit_pipeline.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <pthread.h>
#include <shared_mutex>
#include <unordered_set>

namespace chunklog::storage {
namespace {

// The locks a group holds: per user entry its data lock (shared, or
// exclusive for a write naming many ids) and maybe its HEAD mutex, and key
// stripes. Taking a write's locks waits only for a group's first write,
// which holds nothing else yet, so the writer cannot deadlock with a direct
// writer; a later write only tries, and fails when the group or another
// thread holds one of them.
class group_locks {
public:
    enum class taken { no, yes, exclusive };

    explicit group_locks(user_locks& locks) : locks_(locks) {}
    ~group_locks() { release(); }
    group_locks(const group_locks&) = delete;
    group_locks& operator=(const group_locks&) = delete;

    taken take(const pipeline_write& w, bool wait) {
        auto& entry = locks_.of_user(w.user);
        if (locks_whole_user(w.ids)) {
            if (!wait) return taken::no;
            entry.data.lock();
            exclusive_.push_back(&entry);
            if (w.needs_head) lock_head(entry);
            return taken::exclusive;
        }
        auto slots = locks_.slots_of(w.user, w.ids);
        if (!wait && !try_take(entry, w.needs_head, slots)) return taken::no;
        if (wait) {
            if (shared_.insert(&entry).second) entry.data.lock_shared();
            if (w.needs_head) lock_head(entry);
            for (auto slot : slots) {
                locks_.key_at(slot).lock();
                slots_.push_back(slot);
            }
        }
        return taken::yes;
    }

    void release() {
        for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) locks_.key_at(*it).unlock();
        for (auto* entry : heads_) entry->head.unlock();
        for (auto* entry : shared_) entry->data.unlock_shared();
        for (auto* entry : exclusive_) entry->data.unlock();
        slots_.clear();
        heads_.clear();
        shared_.clear();
        exclusive_.clear();
    }

private:
    void lock_head(user_locks::user_entry& entry) {
        entry.head.lock();
        heads_.push_back(&entry);
    }

    // All or nothing: on a failure, whatever this call took is released.
    bool try_take(user_locks::user_entry& entry, bool head, const std::vector<std::size_t>& slots) {
        for (auto slot : slots)
            if (std::find(slots_.begin(), slots_.end(), slot) != slots_.end()) return false;
        if (head && std::find(heads_.begin(), heads_.end(), &entry) != heads_.end()) return false;
        bool new_shared = !shared_.contains(&entry);
        if (new_shared && !entry.data.try_lock_shared()) return false;
        auto undo = [&](std::size_t slots_taken, bool head_taken) {
            for (std::size_t i = 0; i < slots_taken; ++i) {
                locks_.key_at(slots_.back()).unlock();
                slots_.pop_back();
            }
            if (head_taken) {
                entry.head.unlock();
                heads_.pop_back();
            }
            if (new_shared) entry.data.unlock_shared();
            return false;
        };
        if (head) {
            if (!entry.head.try_lock()) return undo(0, false);
            heads_.push_back(&entry);
        }
        for (std::size_t i = 0; i < slots.size(); ++i) {
            if (!locks_.key_at(slots[i]).try_lock()) return undo(i, head);
            slots_.push_back(slots[i]);
        }
        if (new_shared) shared_.insert(&entry);
        return true;
    }

    user_locks& locks_;
    std::vector<std::size_t> slots_;
    std::vector<user_locks::user_entry*> heads_;
    std::unordered_set<user_locks::user_entry*> shared_;
    std::vector<user_locks::user_entry*> exclusive_;
};

// A plan that throws (out of memory) fails its write alone.
outcome<void> plan_safely(pipeline_write& w, rocksdb::WriteBatch& batch) {
    try {
        return w.plan(batch);
    } catch (const std::exception& e) {
        return make_error(errc::internal, std::string("planning the write failed: ") + e.what());
    }
}

}  // namespace

commit_pipeline::commit_pipeline(user_locks& locks, std::function<outcome<void>(rocksdb::WriteBatch&)> commit,
                                 limits limits, std::function<void(std::size_t)> before_group)
    : locks_(locks), commit_(std::move(commit)), limits_(limits), before_group_(std::move(before_group)) {
    writer_ = std::thread([this] { run(); });
}

commit_pipeline::~commit_pipeline() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    writer_.join();
}

void commit_pipeline::submit(std::unique_ptr<pipeline_write> write) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            ++submitted_;
            queue_.push_back(std::move(write));
            if (queue_.size() == 1) work_.notify_one();
            return;
        }
    }
    write->settle(make_error(errc::unavailable, "the store is closing"));
    write->deliver();
}

void commit_pipeline::drain() {
    std::unique_lock lock(mutex_);
    auto target = submitted_;
    drained_.wait(lock, [&] { return delivered_ >= target; });
}

std::uint64_t commit_pipeline::groups() const {
    std::lock_guard lock(mutex_);
    return groups_;
}

std::uint64_t commit_pipeline::writes() const {
    std::lock_guard lock(mutex_);
    return grouped_;
}

void commit_pipeline::run() {
    pthread_setname_np(pthread_self(), "chunklog-commit");  // as top -H and gdb show it
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, with nothing left
        // The writes queued while a group ran join the ones still waiting,
        // behind them, so that the next group can hold them all.
        queue waiting;
        while (!queue_.empty() || !waiting.empty()) {
            std::move(queue_.begin(), queue_.end(), std::back_inserter(waiting));
            queue_.clear();
            lock.unlock();
            auto done = run_group(waiting);
            lock.lock();
            delivered_ += done;
            drained_.notify_all();
        }
    }
}

std::size_t commit_pipeline::run_group(queue& waiting) {
    if (before_group_) before_group_(waiting.size());
    group_locks held(locks_);
    rocksdb::WriteBatch batch;
    struct member {
        std::unique_ptr<pipeline_write> write;
        std::optional<error> failed;  // its plan's error
        bool wrote = false;
    };
    std::vector<member> members;
    while (!waiting.empty() && members.size() < limits_.max_group_writes &&
           batch.GetDataSize() < limits_.max_group_bytes) {
        auto& w = *waiting.front();
        auto taken = held.take(w, members.empty());
        if (taken == group_locks::taken::no) break;
        auto count = batch.Count();
        batch.SetSavePoint();
        auto planned = plan_safely(w, batch);
        if (planned) batch.PopSavePoint();
        else batch.RollbackToSavePoint();
        members.push_back({std::move(waiting.front()), planned ? std::nullopt : std::optional(planned.error()),
                           planned && batch.Count() != count});
        waiting.pop_front();
        if (taken == group_locks::taken::exclusive) break;
    }
    outcome<void> committed = batch.Count() == 0 ? outcome<void>{} : commit_(batch);
    for (auto& m : members) {
        if (m.failed) m.write->settle(*m.failed);
        else m.write->settle(m.wrote ? committed : outcome<void>{});
    }
    held.release();
    {
        // Counted before the answers go: whoever has one sees its group.
        std::lock_guard lock(mutex_);
        ++groups_;
        grouped_ += members.size();
    }
    for (auto& m : members) m.write->deliver();
    return members.size();
}

}  // namespace chunklog::storage
