// log_store::publish: chunks, transactions and a HEAD advance as one batch.
#include "storage/log_store_impl.hpp"

#include <mutex>
#include <shared_mutex>
#include <variant>

namespace chunklog::storage {
namespace {

// A request naming more distinct ids than this locks the user's writes
// whole (the user's data lock, exclusive) instead of one stripe per id.
constexpr std::size_t max_striped_ids = 256;

// The locks one publish holds, taken in the store's lock order: the user's
// data lock first (shared, or exclusive for a large request), then HEAD and
// the key stripes of the ids it may create.
class publish_locks {
public:
    publish_locks(user_locks& locks, const uuid& user, std::size_t max_ids)
        : locks_(locks), user_(user), entry_(locks.of_user(user)) {
        if (max_ids > max_striped_ids) data_.emplace<std::unique_lock<writer_preferring_mutex>>(entry_.data);
        else data_.emplace<std::shared_lock<writer_preferring_mutex>>(entry_.data);
    }

    void lock_head_and_keys(const std::vector<std::string_view>& ids) {
        head_ = std::unique_lock(entry_.head);
        if (std::holds_alternative<std::shared_lock<writer_preferring_mutex>>(data_)) keys_ = locks_.lock_keys(user_, ids);
    }

private:
    user_locks& locks_;
    const uuid& user_;
    user_locks::user_entry& entry_;
    std::variant<std::monostate, std::shared_lock<writer_preferring_mutex>, std::unique_lock<writer_preferring_mutex>>
        data_;
    std::unique_lock<std::mutex> head_;
    std::vector<std::unique_lock<std::mutex>> keys_;
};

std::vector<digest> chunk_ids(const publish_request& request) {
    std::vector<digest> ids;
    ids.reserve(request.chunks.size());
    for (const auto& [id, bytes] : request.chunks) ids.push_back(id);
    return ids;
}

}  // namespace

// Plans the HEAD part of a publish on top of the planned transactions: a
// re-send of a committed head, a conflict, or an advance added to `batch`.
outcome<void> log_store::impl::plan_publish_head(const uuid& user, const uuid& target_id,
                                                 const pending_transactions& pending, rocksdb::WriteBatch& batch,
                                                 publish_result& result) {
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
    if (auto plan = plan_advance(user, h, **target, batch, &pending); !plan) return plan.error();
    result.after = head_state{target_id, (*target)->seq};
    result.head_advanced = true;
    return {};
}

outcome<publish_result> log_store::publish(const uuid& user, const publish_request& request) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    publish_locks locks(impl_->locks, user, request.chunks.size() + request.transactions.size());
    // Chunks are content-addressed and only DELETE removes them, which waits
    // for the data lock held now: a chunk present here stays present, so
    // existence is read before the HEAD lock and only the missing chunks
    // need a stripe and a second look.
    auto absent = impl_->missing_chunks(user, chunk_ids(request));
    if (!absent) return absent.error();
    std::vector<std::string_view> ids;
    for (const auto& t : request.transactions) ids.push_back(t.id.raw());
    for (const auto& id : *absent) ids.push_back(id.raw());
    locks.lock_head_and_keys(ids);

    rocksdb::WriteBatch batch;
    publish_result result;
    std::unordered_set<digest, id_hash> new_chunks;
    if (!absent->empty()) {
        auto still = impl_->missing_chunks(user, *absent);  // a PUT may have stored some meanwhile
        if (!still) return still.error();
        std::unordered_set<digest, id_hash> to_add(still->begin(), still->end());
        for (const auto& [id, bytes] : request.chunks) {
            if (!to_add.erase(id)) continue;  // present, or already added from an earlier repeat
            impl_->add_chunk(user, id, bytes, batch);
            new_chunks.insert(id);
            ++result.chunks_created;
            result.chunk_bytes_created += bytes.size();
        }
    }

    pending_transactions pending;
    for (const auto& t : request.transactions) {
        auto planned = impl_->plan_transaction(user, t, &pending, &new_chunks, batch);
        if (!planned) return planned.error();
        if (planned->result != insert_result::created) continue;
        pending.emplace(t.id, std::move(planned->record));
        ++result.transactions_created;
    }

    auto h = impl_->read_head(user);
    if (!h) return h.error();
    result.before = result.after = *h;
    if (request.head)
        if (auto planned = impl_->plan_publish_head(user, *request.head, pending, batch, result); !planned)
            return planned.error();
    if (batch.Count() == 0) return result;
    auto quota = impl_->reserve_quota(user, result.chunk_bytes_created);
    if (!quota) return quota.error();
    if (auto c = impl_->handle->commit(batch); !c) return c.error();
    if (*quota) (*quota)->committed();
    return result;
}

}  // namespace chunklog::storage
