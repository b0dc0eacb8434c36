// replica::sync: pull, rebase the local operations, publish, repeat on conflict.
#include <chunklog/tasks/replica.hpp>
#include <chunklog/sha256.hpp>

#include "tasks/replica_impl.hpp"

namespace chunklog {
namespace {

constexpr unsigned max_sync_rounds = 50;

// Applies one server operation on top of the local state: the server
// operation is transformed over each unsynced local operation (and they over
// it), then what is left of it is applied to the tasks.
// Tasks are read from the store the first time an operation needs them, so
// a sync costs what it changes, not the size of the replica.
class task_cache {
public:
    explicit task_cache(const replica::impl& store) : store_(store) {}

    outcome<void> load(const uuid& id) {
        if (!loaded_.insert(id).second) return {};
        auto t = store_.task(id);
        if (!t) return t.error();
        if (*t) tasks_.emplace(id, std::move(**t));
        return {};
    }
    task_set& tasks() { return tasks_; }

private:
    const replica::impl& store_;
    std::set<uuid> loaded_;
    task_set tasks_;
};

outcome<void> rebase(std::vector<operation>& local, const operation& server_op, task_cache& cache,
                     std::set<uuid>& touched) {
    std::optional<operation> incoming = server_op;
    std::vector<operation> rebased;
    rebased.reserve(local.size());
    for (auto& l : local) {
        if (!incoming) {
            rebased.push_back(std::move(l));
            continue;
        }
        auto [server_after, local_after] = chunklog::transform(*incoming, l);
        incoming = std::move(server_after);
        if (local_after) rebased.push_back(std::move(*local_after));
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

}  // namespace

outcome<sync_report> replica::sync(client& server) {
    sync_report report;
    for (unsigned round = 0; round < max_sync_rounds; ++round) {
        auto base = impl_->base();
        auto pending = impl_->pending();
        auto flying = impl_->in_flight();
        if (!base) return base.error();
        if (!pending) return pending.error();
        if (!flying) return flying.error();
        task_cache cache(*impl_);

        // 1. Pull everything since the last synced transaction and rebase.
        std::set<uuid> touched;
        auto in_flight = *flying;
        std::optional<std::uint64_t> pulled_seq;
        auto pulled = server.pull(*base, [&](const pulled_transaction& t) -> outcome<void> {
            ++report.pulled_transactions;
            pulled_seq = t.record.seq;
            if (in_flight && t.record.id == in_flight->id) {  // our own publish landed earlier
                auto n = std::min(in_flight->count, pending->size());
                pending->erase(pending->begin(), pending->begin() + static_cast<std::ptrdiff_t>(n));
                report.published_operations += n;
                in_flight.reset();
                return {};
            }
            for (const auto& chunk : t.chunks) {
                auto ops = decode_operations(chunk);
                if (!ops) return ops.error();
                for (const auto& op : *ops)
                    if (auto r = rebase(*pending, op, cache, touched); !r) return r;
                report.applied_operations += ops->size();
            }
            return {};
        });
        if (!pulled) return pulled.error();

        // A publish still in flight after a full pull never landed: its
        // operations are still pending and go out again below.
        rocksdb::WriteBatch pulled_state;
        if (auto staged = impl_->stage_state(pulled_state, cache.tasks(), touched, *pending); !staged)
            return staged.error();
        pulled_state.Put(replica_keys::base, pulled->raw());
        pulled_state.Delete(replica_keys::inflight);
        if (auto w = impl_->write(pulled_state); !w) return w.error();
        if (pending->empty()) {
            auto seq = seq_of(server, *pulled, pulled_seq);
            if (!seq) return seq.error();
            report.head = head_state{*pulled, *seq};
            return report;
        }

        // 2. Publish the local operations as one transaction on top of it.
        auto chunk = encode_operations(*pending);
        transaction_record t{uuid::random(), *pulled, 0, {sha256_of(chunk)}};
        if (auto w = impl_->record_in_flight(t.id, pending->size()); !w) return w.error();
        auto published = server.publish({{chunk}, {t}, t.id});
        if (published) {
            rocksdb::WriteBatch acknowledged;
            std::vector<operation> none;
            if (auto staged = impl_->stage_state(acknowledged, cache.tasks(), {}, none); !staged) return staged.error();
            acknowledged.Put(replica_keys::base, t.id.raw());
            acknowledged.Delete(replica_keys::inflight);
            if (auto w = impl_->write(acknowledged); !w) return w.error();
            report.published_operations += pending->size();
            report.head = *published;
            return report;
        }
        if (published.error().code != errc::conflict) return published.error();
        ++report.conflicts;
    }
    return make_error(errc::conflict, "sync gave up after too many conflicting publishes");
}

}  // namespace chunklog
