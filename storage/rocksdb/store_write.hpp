// store_write: one of the RocksDB store's writes as the commit pipeline
// runs it. It owns what the write needs (its payload), plans through a
// function of the store's, keeps the planned result and quota reservation
// until the group's outcome is known, remembers the HEAD it plans and
// commits (see user_locks), and hands the result to a callback.
// Used by one thread at a time (the caller, then the writer thread).
#pragma once

#include "storage/rocksdb/commit_pipeline.hpp"
#include "storage/rocksdb/quota.hpp"

#include <functional>
#include <optional>
#include <utility>

namespace chunklog::storage {

// What planning a write yields: its result once committed, the bytes it
// holds against the user's quota until then, the HEAD it commits when it
// moves HEAD, and whether that advance commits transactions the write did
// not create (whose chain and records lie under no stripe of the write:
// no later write of its user may join its group, pipeline_write).
template <typename T>
struct planned_write {
    T value;
    std::optional<quota_reservations::reservation> quota;
    std::optional<head_state> head_after;
    bool commits_others;
};

template <typename T, typename Payload>
class store_write final : public pipeline_write {
public:
    using planner = std::function<outcome<planned_write<T>>(const Payload&, rocksdb::WriteBatch&)>;
    using callback = std::function<void(outcome<T>)>;

    store_write(user_locks& locks, Payload payload, planner plan, callback done)
        : locks_(locks), payload_(std::move(payload)), plan_(std::move(plan)), done_(std::move(done)) {}

    const Payload& payload() const { return payload_; }

    outcome<void> plan(rocksdb::WriteBatch& batch) override {
        auto p = plan_(payload_, batch);
        if (!p) return p.error();
        planned_.emplace(std::move(*p));
        // For the writes of the same user planned after it in its group.
        if (planned_->head_after) locks_.remember_head(user, *planned_->head_after);
        return {};
    }

    void settle(const outcome<void>& outcome) override {
        if (!outcome) {
            result_.emplace(outcome.error());
        } else {
            if (planned_->quota) planned_->quota->committed();
            // The HEAD mutex is still held (pipeline_write::settle).
            if (planned_->head_after) locks_.remember_head(user, *planned_->head_after);
            result_.emplace(std::move(planned_->value));
        }
        planned_.reset();  // releases the reservation while the write's locks are held
    }

    bool closes_user() const override { return planned_ && planned_->commits_others; }

    void deliver() override { done_(std::move(*result_)); }

private:
    user_locks& locks_;
    Payload payload_;
    planner plan_;
    callback done_;
    std::optional<planned_write<T>> planned_;
    std::optional<outcome<T>> result_;
};

}  // namespace chunklog::storage
