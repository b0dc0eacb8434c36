// replica::sync: pull (from the snapshot when the replica is new or its base
// was truncated), rebase the local operations, publish, repeat on conflict;
// then write the snapshot the server asked for (or one in TaskChampion's
// format when the log held the legacy plaintext format).
#include "tasks/replica_impl.hpp"
#include "tasks/version_codec.hpp"

#include <chunklog/tasks/replica.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <tuple>
#include <unordered_map>

namespace chunklog {
namespace {

constexpr unsigned max_sync_rounds = 50;

// Before it pulls again after a lost HEAD race, a replica waits a random
// time of up to 5 ms, doubled per conflict in a row up to 320 ms: a writer
// that keeps winning (it learns each HEAD from its own answer, the others
// one step later) cannot starve replicas that retry (api/API.md).
void back_off(unsigned conflicts) {
    static thread_local std::minstd_rand random{std::random_device{}()};
    auto ceiling_us = 5000U << std::min(conflicts - 1, 6U);
    std::this_thread::sleep_for(std::chrono::microseconds(random() % ceiling_us));
}

// The tasks a sync changes. Tasks are read from the store the first time an
// operation needs them, so a sync costs what it changes, not the size of the
// replica; after replace() the cache holds the whole task set instead (from
// a snapshot), and the store's tasks are never read again.
class task_cache {
public:
    explicit task_cache(const replica::impl& store) : store_(store) {}

    outcome<void> load(const uuid& id) {
        if (replaced_ || !loaded_.insert(id).second) return {};
        auto t = store_.task(id);
        if (!t) return t.error();
        if (*t) tasks_.emplace(id, std::move(**t));
        return {};
    }
    void replace(task_set tasks) {
        tasks_ = std::move(tasks);
        replaced_ = true;
    }
    bool replaced() const { return replaced_; }
    task_set& tasks() { return tasks_; }

private:
    const replica::impl& store_;
    std::set<uuid> loaded_;
    task_set tasks_;
    bool replaced_ = false;
};

// Applies one server operation on top of the local state: the server
// operation is transformed over each unsynced local operation (and they over
// it), then what is left of it is applied to the tasks.
outcome<void> rebase(std::vector<pending_operation>& local, const operation& server_op, task_cache& cache,
                     std::set<uuid>& touched) {
    std::optional<operation> incoming = server_op;
    std::vector<pending_operation> rebased;
    rebased.reserve(local.size());
    for (auto& l : local) {
        if (!incoming) {
            rebased.push_back(std::move(l));
            continue;
        }
        auto [server_after, local_after] = chunklog::transform(*incoming, l.op);
        incoming = std::move(server_after);
        if (local_after) rebased.push_back({l.key, std::move(*local_after)});
    }
    local = std::move(rebased);
    if (!incoming) return {};
    if (auto loaded = cache.load(incoming->task); !loaded) return loaded;
    apply_operation(cache.tasks(), *incoming);
    touched.insert(incoming->task);
    return {};
}

// The seq of `id`, the last synced transaction: known when the pull handed
// it over, else asked of the server.
outcome<std::uint64_t> seq_of(client& server, const uuid& id, std::optional<std::uint64_t> pulled_seq) {
    if (id.is_root()) return 0;
    if (pulled_seq) return *pulled_seq;
    auto t = server.transaction(id);
    if (!t) return t.error();
    return t->seq;
}

// Every task a write of the whole task set touches, in the order new
// working-set numbers go: pending tasks by entry time (then id), then the
// tasks numbered now (so that the gone ones are freed).
outcome<std::vector<uuid>> whole_set_order(const replica::impl& store, const task_set& tasks) {
    // `entry` is decimal seconds: shorter is earlier.
    std::vector<std::tuple<std::size_t, std::string_view, uuid>> by_entry;
    by_entry.reserve(tasks.size());
    for (const auto& [id, props] : tasks) {
        auto entry = props.find("entry");
        std::string_view text = entry == props.end() ? std::string_view() : std::string_view(entry->second);
        by_entry.emplace_back(text.size(), text, id);
    }
    std::sort(by_entry.begin(), by_entry.end());
    std::vector<uuid> order;
    order.reserve(by_entry.size());
    for (const auto& [size, entry, id] : by_entry) order.push_back(id);
    auto ws = store.working_set();
    if (!ws) return ws.error();
    for (const auto& slot : *ws)
        if (slot && !tasks.contains(*slot)) order.push_back(*slot);
    return order;
}

// Stages the unsynced operations as `local` now has them, given how they
// were stored: the dropped ones go, the changed ones are rewritten.
void stage_pending(rocksdb::WriteBatch& batch, const std::vector<pending_operation>& stored,
                   const std::vector<pending_operation>& local) {
    std::unordered_map<std::uint64_t, const operation*> now;
    for (const auto& l : local) now.emplace(l.key, &l.op);
    for (const auto& s : stored) {
        auto it = now.find(s.key);
        if (it == now.end()) batch.Delete(replica_keys::pending(s.key));
        else if (*it->second != s.op) batch.Put(replica_keys::pending(s.key), encode_pending(*it->second));
    }
}

// Writes a snapshot of the tasks, which must be the state after the
// committed transaction `at` (no operation unsynced), and forgets that one is
// owed. A failure is reported, not returned: the sync itself succeeded.
void write_snapshot(replica::impl& store, client& server, const sealing_key& key, const uuid& at,
                    sync_report& report) {
    auto tasks = store.all_tasks();
    if (!tasks) {
        report.snapshot_error = tasks.error();
        return;
    }
    auto written = server.put_snapshot(at, std::vector<std::string>{seal_snapshot(key, *tasks, at)});
    if (!written) {
        report.snapshot_error = written.error();
        return;
    }
    rocksdb::WriteBatch done;
    done.Delete(replica_keys::urgency);
    if (auto w = store.write(done); !w) {
        report.snapshot_error = w.error();
        return;
    }
    report.snapshot = written->in_force;
}

}  // namespace

outcome<sync_report> replica::sync(client& server, const sealing_key& key) {
    sync_report report;
    bool truncated = false;  // the base fell into truncated history: start from the snapshot
    // The log holds the plaintext format of earlier releases: write a
    // snapshot in TaskChampion's format at the end, from which Taskwarrior
    // and new replicas start without reading the old format.
    bool legacy = false;
    for (unsigned round = 0; round < max_sync_rounds; ++round) {
        auto base = impl_->base();
        auto stored = impl_->pending();
        auto flying = impl_->in_flight();
        if (!base) return base.error();
        if (!stored) return stored.error();
        if (!flying) return flying.error();
        task_cache cache(*impl_);
        std::vector<pending_operation> local = *stored;  // rebased as server operations come
        auto in_flight = *flying;
        std::optional<uuid> skip_until;  // the rest of our own publish, after its first version
        auto landed = [&] {  // our own publish in flight landed earlier: its operations are acknowledged
            auto n = std::min(in_flight->count, local.size());
            local.erase(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(n));
            report.published_operations += n;
            in_flight.reset();
        };

        // A new replica starts from the snapshot, unless a publish of it is
        // in flight: that one would be hidden by the snapshot, so the whole
        // log is read to look for it.
        const bool use_snapshot = truncated || (base->is_root() && !in_flight);
        // Whether a publish in flight is known to have landed before the
        // snapshot (it is still stored and committed). Once removed by
        // truncation it cannot be told from one that never landed: its
        // operations are then published again rather than risk losing them.
        bool landed_before_snapshot = false;
        if (truncated && in_flight) {
            auto t = server.transaction(in_flight->id);
            if (t) landed_before_snapshot = true;
            else if (t.error().code != errc::not_found) return t.error();
        }

        // 1. Pull everything since the last synced transaction and rebase.
        const sync_report before_pull = report;
        std::set<uuid> touched;
        std::optional<std::uint64_t> pulled_seq;
        auto on_snapshot = [&](const pulled_snapshot& s) -> outcome<void> {
            auto read = read_snapshot(key, s);
            if (!read) return read.error();
            legacy = legacy || read->legacy;
            cache.replace(std::move(read->tasks));
            if (in_flight && (landed_before_snapshot || s.position.transaction == in_flight->id ||
                              s.position.transaction == in_flight->last))
                landed();
            // The local operations, re-applied on top: the snapshot's
            // transaction is their new base, and they stay unsynced.
            for (const auto& l : local) apply_operation(cache.tasks(), l.op);
            pulled_seq = s.position.seq;
            report.from_snapshot = true;
            return {};
        };
        auto on_transaction = [&](const pulled_transaction& t) -> outcome<void> {
            ++report.pulled_transactions;
            pulled_seq = t.record.seq;
            if (skip_until) {
                if (t.record.id == *skip_until) skip_until.reset();
                return {};
            }
            if (in_flight && t.record.id == in_flight->id) {
                if (in_flight->last != t.record.id) skip_until = in_flight->last;
                landed();
                return {};
            }
            auto read = read_version(key, t);
            if (!read) return read.error();
            legacy = legacy || read->legacy;
            for (const auto& op : read->ops)
                if (auto r = rebase(local, op, cache, touched); !r) return r;
            report.applied_operations += read->ops.size();
            return {};
        };
        auto pulled = use_snapshot ? server.pull_with_snapshot(*base, on_snapshot, on_transaction)
                                   : server.pull(*base, on_transaction);
        if (!pulled) {
            if (pulled.error().code != errc::history_truncated || use_snapshot) return pulled.error();
            // Nothing was written: the next round starts again, from the snapshot.
            truncated = true;
            report = before_pull;
            continue;
        }

        // A publish still in flight after a full pull never landed: its
        // operations are still pending and go out again below.
        rocksdb::WriteBatch pulled_state;
        std::vector<uuid> ids(touched.begin(), touched.end());
        if (cache.replaced()) {
            auto order = whole_set_order(*impl_, cache.tasks());
            if (!order) return order.error();
            ids = std::move(*order);
        }
        if (auto staged = impl_->stage_tasks(pulled_state, cache.tasks(), ids, cache.replaced()); !staged)
            return staged.error();
        stage_pending(pulled_state, *stored, local);
        pulled_state.Put(replica_keys::base, pulled->raw());
        pulled_state.Delete(replica_keys::inflight);
        if (legacy) pulled_state.Put(replica_keys::urgency, std::string(urgency_name(snapshot_urgency::high)));
        if (auto w = impl_->write(pulled_state); !w) return w.error();
        if (local.empty()) {
            auto seq = seq_of(server, *pulled, pulled_seq);
            if (!seq) return seq.error();
            report.head = head_state{*pulled, *seq};
            // Nothing to publish: the moment for a snapshot owed, low or high.
            auto wanted = impl_->wanted_snapshot();
            if (!wanted) return wanted.error();
            if ((*wanted != snapshot_urgency::none || legacy) && !pulled->is_root())
                write_snapshot(*impl_, server, key, *pulled, report);
            return report;
        }

        // 2. Publish the local operations as one transaction on top of it.
        std::vector<operation> ops;
        ops.reserve(local.size());
        for (const auto& l : local) ops.push_back(l.op);
        auto versions = seal_versions(key, *pulled, ops);
        const uuid new_head = *versions.head;
        if (auto w = impl_->record_in_flight({versions.transactions.front().id, local.size(), new_head}); !w)
            return w.error();
        auto published = server.publish(versions);
        if (published) {
            const auto urgency = server.last_snapshot_urgency();
            rocksdb::WriteBatch acknowledged;
            for (const auto& l : local) acknowledged.Delete(replica_keys::pending(l.key));
            acknowledged.Put(replica_keys::base, new_head.raw());
            acknowledged.Delete(replica_keys::inflight);
            // The server's latest word on snapshots replaces any earlier one;
            // a log in the legacy format owes one until it is written.
            if (legacy) acknowledged.Put(replica_keys::urgency, std::string(urgency_name(snapshot_urgency::high)));
            else if (urgency == snapshot_urgency::none) acknowledged.Delete(replica_keys::urgency);
            else acknowledged.Put(replica_keys::urgency, std::string(urgency_name(urgency)));
            if (auto w = impl_->write(acknowledged); !w) return w.error();
            report.published_operations += local.size();
            report.head = *published;
            if (urgency == snapshot_urgency::high || legacy) write_snapshot(*impl_, server, key, new_head, report);
            return report;
        }
        if (published.error().code != errc::conflict) return published.error();
        back_off(++report.conflicts);
    }
    return make_error(errc::conflict, "sync gave up after too many conflicting publishes");
}

}  // namespace chunklog
