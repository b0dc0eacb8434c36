#include "storage/rocksdb/commit_pipeline.hpp"

#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <pthread.h>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

namespace chunklog::storage {
namespace {

// The locks a group holds: per user entry its data lock (shared, or
// exclusive for a write naming many ids) and maybe its HEAD mutex, and key
// stripes. Taking a write's locks waits only for a group's first write,
// which holds nothing else yet, so the writer cannot deadlock with a direct
// writer; a later write only tries, and fails when the group or another
// thread holds one of them. Two exceptions, for writes that race on one
// HEAD: a stripe the group holds only for reading parents' records is
// shared with writes that only read under it too, and a HEAD mutex the
// group holds for a write of the same user is shared (taken::after_head).
// After a write that commits transactions it did not create, no later write
// of its user (of its entry of the table) joins the group.
class group_locks {
public:
    enum class taken { no, yes, after_head, exclusive };

    explicit group_locks(user_locks& locks) : locks_(locks) {}
    ~group_locks() { release(); }
    group_locks(const group_locks&) = delete;
    group_locks& operator=(const group_locks&) = delete;

    taken take(const pipeline_write& w, bool wait) {
        auto& entry = locks_.of_user(w.user);
        if (locks_whole_user(w.ids, w.shared_ids)) {
            if (!wait) return taken::no;
            entry.data.lock();
            exclusive_.push_back(&entry);
            if (w.needs_head) lock_head(entry, w.user);
            return taken::exclusive;
        }
        auto stripes = stripes_of(w);
        if (!wait) return try_take(entry, w.user, w.needs_head, stripes);
        if (shared_.insert(&entry).second) entry.data.lock_shared();
        if (w.needs_head) lock_head(entry, w.user);
        for (auto [slot, read_only] : stripes) {
            locks_.key_at(slot).lock();
            stripes_.emplace(slot, read_only);
        }
        return taken::yes;
    }

    // No later write of `w`'s user joins the group (pipeline_write::closes_user).
    void close_user(const pipeline_write& w) { closed_.insert(&locks_.of_user(w.user)); }

    void release() {
        for (auto [slot, read_only] : stripes_) locks_.key_at(slot).unlock();
        for (const auto& held : heads_) held.entry->head.unlock();
        for (auto* entry : shared_) entry->data.unlock_shared();
        for (auto* entry : exclusive_) entry->data.unlock();
        stripes_.clear();
        heads_.clear();
        closed_.clear();
        shared_.clear();
        exclusive_.clear();
    }

private:
    // A HEAD mutex the group holds, and the user it holds it for (users
    // that share an entry of the table never share its HEAD in a group).
    struct held_head {
        user_locks::user_entry* entry;
        uuid user;
    };
    // A key stripe, and whether the write only reads records under it.
    struct stripe {
        std::size_t slot;
        bool read_only;
    };

    // The write's stripes in lock order: read-only where every id of the
    // write under it is one of its shared_ids.
    std::vector<stripe> stripes_of(const pipeline_write& w) const {
        auto exclusive = locks_.slots_of(w.user, w.ids);
        std::vector<stripe> stripes;
        for (auto slot : exclusive) stripes.push_back({slot, false});
        for (auto slot : locks_.slots_of(w.user, w.shared_ids))
            if (!std::binary_search(exclusive.begin(), exclusive.end(), slot)) stripes.push_back({slot, true});
        std::sort(stripes.begin(), stripes.end(), [](const stripe& a, const stripe& b) { return a.slot < b.slot; });
        return stripes;
    }

    void lock_head(user_locks::user_entry& entry, const uuid& user) {
        entry.head.lock();
        heads_.push_back({&entry, user});
    }

    // All or nothing: on a failure, whatever this call took is released.
    taken try_take(user_locks::user_entry& entry, const uuid& user, bool head, const std::vector<stripe>& stripes) {
        if (closed_.contains(&entry)) return taken::no;
        std::vector<stripe> fresh;  // the ones the group does not hold yet
        for (const auto& s : stripes) {
            auto held = stripes_.find(s.slot);
            if (held == stripes_.end()) fresh.push_back(s);
            else if (!s.read_only || !held->second) return taken::no;
        }
        bool head_held = false;
        if (head) {
            auto it = std::find_if(heads_.begin(), heads_.end(), [&](const held_head& h) { return h.entry == &entry; });
            if (it != heads_.end() && it->user != user) return taken::no;
            head_held = it != heads_.end();
        }
        bool new_shared = !shared_.contains(&entry);
        if (new_shared && !entry.data.try_lock_shared()) return taken::no;
        bool head_taken = head && !head_held;
        auto undo = [&](std::size_t stripes_taken) {
            for (std::size_t i = 0; i < stripes_taken; ++i) {
                locks_.key_at(fresh[i].slot).unlock();
                stripes_.erase(fresh[i].slot);
            }
            if (head_taken) {
                entry.head.unlock();
                heads_.pop_back();
            }
            if (new_shared) entry.data.unlock_shared();
            return taken::no;
        };
        if (head_taken) {
            if (!entry.head.try_lock()) {
                head_taken = false;
                return undo(0);
            }
            heads_.push_back({&entry, user});
        }
        for (std::size_t i = 0; i < fresh.size(); ++i) {
            if (!locks_.key_at(fresh[i].slot).try_lock()) return undo(i);
            stripes_.emplace(fresh[i].slot, fresh[i].read_only);
        }
        if (new_shared) shared_.insert(&entry);
        return head_held ? taken::after_head : taken::yes;
    }

    user_locks& locks_;
    std::unordered_map<std::size_t, bool> stripes_;  // slot: held only for reading
    std::vector<held_head> heads_;
    std::unordered_set<user_locks::user_entry*> closed_;  // entries no later write may join
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
        bool after_head = false;  // planned on a HEAD an earlier member planned
    };
    std::vector<member> members;
    while (!waiting.empty() && members.size() < limits_.max_group_writes &&
           batch.GetDataSize() < limits_.max_group_bytes) {
        auto& w = *waiting.front();
        auto taken = held.take(w, members.empty());
        if (taken == group_locks::taken::no) break;
        auto count = batch.Count();
        auto head_known = w.needs_head ? locks_.saved_head(w.user) : std::nullopt;
        batch.SetSavePoint();
        auto planned = plan_safely(w, batch);
        if (planned) {
            batch.PopSavePoint();
            if (w.closes_user()) held.close_user(w);
        } else {
            batch.RollbackToSavePoint();
            // A plan that failed after it forgot the HEAD (an earlier
            // member's, maybe, not yet committed) leaves it as it was.
            if (w.needs_head) locks_.restore_head(w.user, head_known);
        }
        members.push_back({std::move(waiting.front()), planned ? std::nullopt : std::optional(planned.error()),
                           planned && batch.Count() != count, taken == group_locks::taken::after_head});
        waiting.pop_front();
        if (taken == group_locks::taken::exclusive) break;
    }
    outcome<void> committed = batch.Count() == 0 ? outcome<void>{} : commit_(batch);
    if (!committed)
        for (auto& m : members)
            if (m.write->needs_head) locks_.forget_head(m.write->user);  // it may remember a HEAD planned here
    for (auto& m : members) {
        if (!committed && m.after_head) m.write->settle(committed);  // its answer relied on the group's HEAD
        else if (m.failed) m.write->settle(*m.failed);
        else m.write->settle(m.wrote ? committed : outcome<void>{});
    }
    held.release();
    {
        // Counted before the answers go: whoever has one sees its group.
        std::lock_guard lock(mutex_);
        ++groups_;
        grouped_ += members.size();
    }
    // The refused first: of clients racing on one HEAD, the ones that lost
    // this group get their answer, and can send again, before the winner.
    for (auto& m : members)
        if (m.failed) m.write->deliver();
    for (auto& m : members)
        if (!m.failed) m.write->deliver();
    return members.size();
}

}  // namespace chunklog::storage
