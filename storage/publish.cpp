// log_store::publish: chunks, transactions and a HEAD advance as one batch.
#include "storage/log_store_impl.hpp"

#include <mutex>
#include <shared_mutex>

namespace chunklog::storage {
namespace {

std::vector<std::string_view> locked_ids(const publish_request& request) {
    std::vector<std::string_view> ids;
    for (const auto& [id, bytes] : request.chunks) ids.push_back(id.raw());
    for (const auto& t : request.transactions) ids.push_back(t.id.raw());
    return ids;
}

}  // namespace

outcome<head_state> log_store::publish(const uuid& user, const publish_request& request) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    auto& locks = impl_->locks.of_user(user);
    std::shared_lock data(locks.data);
    std::lock_guard head_lock(locks.head);
    auto key_locks = impl_->locks.lock_keys(user, locked_ids(request));

    rocksdb::WriteBatch batch;
    std::unordered_set<digest, id_hash> new_chunks;
    for (const auto& [id, bytes] : request.chunks) {
        if (new_chunks.contains(id)) continue;
        auto added = impl_->plan_chunk(user, id, bytes, batch);
        if (!added) return added.error();
        if (*added) new_chunks.insert(id);
    }

    pending_transactions pending;
    for (const auto& t : request.transactions) {
        auto planned = impl_->plan_transaction(user, t, &pending, &new_chunks, batch);
        if (!planned) return planned.error();
        if (planned->result == insert_result::created) pending.emplace(t.id, std::move(planned->record));
    }

    auto h = impl_->read_head(user);
    if (!h) return h.error();
    head_state after = *h;
    if (request.head && *request.head != h->head) {
        const auto& target_id = *request.head;
        if (target_id.is_root()) return impl_->conflict(*h, "HEAD cannot move back to ROOT");
        auto target = impl_->find_transaction(user, target_id, &pending);
        if (!target) return target.error();
        if (!*target) return make_error(errc::unknown_transaction, "the head transaction does not exist");
        auto committed = pending.contains(target_id) ? outcome<bool>(false)
                                                     : impl_->is_committed(user, **target, nullptr);
        if (!committed) return committed.error();
        if (!*committed) {
            auto children = impl_->has_children(user, target_id, &pending);
            if (!children) return children.error();
            if (*children) return impl_->conflict(*h, "the transaction has children");
            if (auto plan = impl_->plan_advance(user, *h, **target, batch, &pending); !plan) return plan.error();
            after = head_state{target_id, (*target)->seq};
        }
    }
    if (batch.Count() == 0) return after;
    if (auto c = impl_->handle->commit(batch); !c) return c.error();
    return after;
}

}  // namespace chunklog::storage
