// A publish planned: chunks, transactions and a HEAD advance as one batch.
#include "storage/rocksdb/log_store_impl.hpp"

#include <mutex>
#include <shared_mutex>

namespace chunklog::storage {

relied_ids rocksdb_store::impl::ids_of(const publish_request& request) {
    relied_ids relied;
    auto& ids = relied.ids;
    ids.reserve(request.chunks.size() + request.transactions.size() + 1);
    for (const auto& [id, bytes] : request.chunks) ids.push_back(id.raw());
    for (const auto& t : request.transactions) {
        ids.push_back(t.id.raw());
        if (!t.parent.is_root()) relied.parents.push_back(t.parent.raw());
        for (const auto& c : t.chunks) ids.push_back(c.raw());
    }
    if (request.head && !request.head->is_root()) ids.push_back(request.head->raw());
    return relied;
}

// Plans the HEAD part of a publish on top of the planned transactions: a
// re-send of a committed head, a conflict, or an advance added to `batch`.
outcome<void> rocksdb_store::impl::plan_publish_head(const uuid& user, const uuid& target_id,
                                                 const pending_transactions& pending, rocksdb::WriteBatch& batch,
                                                 publish_result& result,
                                                 std::unordered_set<uuid, id_hash>& committed_now) {
    const auto& h = result.before;
    auto target = find_transaction(user, target_id, &pending);
    if (!target) return target.error();
    bool committed = target_id == h.head;
    if (!committed && !target_id.is_root() && *target && !pending.contains(target_id)) {
        auto on_chain = is_committed(user, **target, nullptr);
        if (!on_chain) return on_chain.error();
        committed = *on_chain;
    }
    if (committed) {
        if (result.transactions_created == 0) return {};  // a re-send: already applied
        return conflict(h, "`head` is already committed, but the request has new transactions");
    }
    if (target_id.is_root()) return conflict(h, "HEAD cannot move back to ROOT");
    if (!*target) return make_error(errc::unknown_transaction, "the head transaction does not exist");
    auto children = has_children(user, target_id, &pending);
    if (!children) return children.error();
    if (*children) return conflict(h, "the transaction has children");
    if (auto plan = plan_advance(user, h, **target, batch, &pending, &committed_now); !plan) return plan.error();
    result.after = head_state{target_id, (*target)->seq};
    result.head_advanced = true;
    return {};
}

outcome<publish_result> rocksdb_store::impl::apply_publish(const uuid& user, const publish_request& request,
                                                       rocksdb::WriteBatch& batch) {
    auto planned = plan_publish(user, request, batch);
    if (!planned) return planned.error();
    if (batch.Count() == 0) return planned->value;
    if (auto c = handle->commit(batch); !c) return c.error();
    if (planned->quota) planned->quota->committed();
    if (planned->head_after) locks.remember_head(user, *planned->head_after);
    return planned->value;
}

outcome<planned_write<publish_result>> rocksdb_store::impl::plan_publish(const uuid& user,
                                                                         const publish_request& request,
                                                                         rocksdb::WriteBatch& batch) {
    auto h = read_head_locked(user);
    if (!h) return h.error();
    publish_result result;
    result.before = result.after = *h;
    std::unordered_set<digest, id_hash> known_chunks;  // sent: stored now, or already
    if (!request.chunks.empty()) {
        std::vector<digest> sent;
        sent.reserve(request.chunks.size());
        for (const auto& [id, bytes] : request.chunks) sent.push_back(id);
        auto absent = missing_chunks(user, sent);
        if (!absent) return absent.error();
        std::unordered_set<digest, id_hash> to_add(absent->begin(), absent->end());
        std::unordered_set<digest, id_hash> done;
        for (const auto& [id, bytes] : request.chunks) {
            if (!done.insert(id).second) continue;  // a repeat
            known_chunks.insert(id);
            if (!to_add.contains(id)) {
                refresh_chunk(user, id, bytes.size(), batch);  // re-sent
                continue;
            }
            add_chunk(user, id, bytes, bytes.size(), batch);
            ++result.chunks_created;
            result.chunk_bytes_created += bytes.size();
        }
    }

    pending_transactions pending;
    for (const auto& t : request.transactions) {
        auto planned = plan_transaction(user, t, &pending, &known_chunks, batch, &result.before);
        if (!planned) return planned.error();
        if (planned->result != insert_result::created) continue;
        pending.emplace(t.id, std::move(planned->record));
        ++result.transactions_created;
    }

    std::unordered_set<uuid, id_hash> committed_now;
    if (request.head)
        if (auto planned = plan_publish_head(user, *request.head, pending, batch, result, committed_now); !planned)
            return planned.error();
    // The answer's urgency, with no read in the common case; a failed read
    // leaves it out (the caller asks urgency()).
    if (auto urgency = urgency_locked(user, result.after)) result.urgency = *urgency;
    // The new transactions the advance did not commit wait for a later one
    // (or for garbage collection); the committed ones never needed the record.
    for (const auto& t : request.transactions)
        if (pending.contains(t.id) && !committed_now.contains(t.id))
            batch.Put(handle->meta(), keys::uncommitted(user, t.id), keys::encode_time(now()));
    if (batch.Count() == 0) return planned_write<publish_result>{result, std::nullopt, std::nullopt, false};
    auto quota = reserve_quota(user, result.chunk_bytes_created);
    if (!quota) return quota.error();
    std::optional<head_state> head_after;
    if (result.head_advanced) head_after = result.after;
    bool commits_others = result.head_advanced && committed_now.size() != result.after.seq - result.before.seq;
    return planned_write<publish_result>{result, std::move(*quota), head_after, commits_others};
}

}  // namespace chunklog::storage
