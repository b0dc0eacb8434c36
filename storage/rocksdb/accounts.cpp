// log_store's accounts part (tokens, quotas) and the user listing. Accounts
// live in the "accounts" family, outside the users' key ranges (keys.hpp).
#include "storage/rocksdb/log_store_impl.hpp"
#include "storage/rules.hpp"

#include <rocksdb/snapshot.h>

#include <algorithm>

namespace chunklog::storage {
namespace {


error corrupt(const char* what) { return make_error(errc::internal, std::string("corrupt ") + what); }

struct indexed_token {
    std::string key;  // the index key
    std::uint64_t number = 0;
    keys::token_index_entry entry;
};

// The user's token index in creation order, as seen by `snapshot`.
outcome<std::vector<indexed_token>> read_token_index(db_handle& h, const uuid& user,
                                                    const rocksdb::Snapshot* snapshot = nullptr) {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::unique_ptr<rocksdb::Iterator> it(h.db().NewIterator(ro, h.accounts()));
    auto prefix = keys::token_index_prefix(user);
    std::vector<indexed_token> out;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto key = it->key().ToStringView();
        auto number = keys::token_index_number(key);
        auto entry = keys::decode_token_index(it->value().ToStringView());
        if (!number || !entry) return corrupt("token index entry");
        out.push_back({std::string(key), *number, std::move(*entry)});
    }
    if (!it->status().ok()) return db_handle::read_error(it->status());
    return out;
}

// Walks the distinct users of one family whose keys start with `prefix` and
// then the user id, seeking past each user's keys instead of reading them.
class user_scan {
public:
    user_scan(rocksdb::Iterator* it, std::string_view prefix) : it_(it), prefix_(prefix) {}

    // The first user at or after `from`; nullopt when there is none.
    outcome<std::optional<uuid>> first_from(const uuid& from) {
        if (done_ || (current_ && *current_ >= from)) return current_;
        it_->Seek(prefix_ + std::string(from.raw()));
        current_.reset();
        if (!it_->Valid()) {
            if (!it_->status().ok()) return db_handle::read_error(it_->status());
            done_ = true;
            return current_;
        }
        auto key = it_->key().ToStringView();
        if (!key.starts_with(prefix_)) {
            done_ = true;
            return current_;
        }
        current_ = keys::key_user(key.substr(prefix_.size()));
        if (!current_) return corrupt("key without a user id");
        return current_;
    }

private:
    std::unique_ptr<rocksdb::Iterator> it_;
    std::string prefix_;
    std::optional<uuid> current_;
    bool done_ = false;
};

}  // namespace

outcome<std::optional<std::uint64_t>> rocksdb_store::impl::read_quota(const uuid& user) const {
    auto value = handle->get(handle->accounts(), keys::quota(user));
    if (!value) return value.error();
    if (!*value) return std::optional<std::uint64_t>{};
    auto bytes = keys::decode_quota(**value);
    if (!bytes) return corrupt("quota record");
    return bytes;
}

outcome<std::uint64_t> rocksdb_store::impl::quota_in_force(const uuid& user) const {
    auto own = read_quota(user);
    if (!own) return own.error();
    return own->value_or(default_quota);
}

outcome<std::uint64_t> rocksdb_store::impl::stored_bytes(const uuid& user) const {
    auto value = handle->get(handle->meta(), keys::stats(user));
    if (!value) return value.error();
    auto stats = *value ? keys::decode_stats(**value) : keys::chunk_stats{};
    return static_cast<std::uint64_t>(std::max<std::int64_t>(stats.bytes, 0));
}

outcome<std::optional<quota_reservations::reservation>> rocksdb_store::impl::reserve_quota(const uuid& user,
                                                                                       std::uint64_t new_bytes) {
    using held = std::optional<quota_reservations::reservation>;
    if (new_bytes == 0) return held{};
    auto limit = quota_in_force(user);
    if (!limit) return limit.error();
    if (*limit == 0) return held{};
    auto r = quotas.reserve(user, new_bytes, *limit, [&] { return stored_bytes(user); });
    if (!r) return r.error();
    return held{std::move(*r)};
}

outcome<void> rocksdb_store::set_quota(const uuid& user, std::optional<std::uint64_t> bytes) {
    if (auto w = impl_->check_writable(); !w) return w;
    auto& h = *impl_->handle;
    rocksdb::WriteBatch batch;
    if (bytes) batch.Put(h.accounts(), keys::quota(user), keys::encode_quota(*bytes));
    else batch.Delete(h.accounts(), keys::quota(user));
    return h.commit(batch);
}

outcome<std::optional<std::uint64_t>> rocksdb_store::user_quota(const uuid& user) const {
    return impl_->read_quota(user);
}

outcome<std::uint64_t> rocksdb_store::quota_in_force(const uuid& user) const { return impl_->quota_in_force(user); }

outcome<std::optional<token_record>> rocksdb_store::find_token(const digest& secret_hash) const {
    auto value = impl_->handle->get(impl_->handle->accounts(), keys::token(secret_hash));
    if (!value) return value.error();
    if (!*value) return std::optional<token_record>{};
    auto t = keys::decode_token(**value);
    if (!t) return corrupt("token record");
    return t;
}

outcome<void> rocksdb_store::create_token(const digest& secret_hash, const token_record& token, bool only_if_first) {
    if (!rules::valid_token_id(token.id))
        return make_error(errc::bad_request, "a token id is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'");
    if (token.scope != token_scope::read && token.scope != token_scope::write)
        return make_error(errc::bad_request, "unknown token scope");
    if (auto w = impl_->check_writable(); !w) return w;
    auto& h = *impl_->handle;
    std::lock_guard lock(impl_->token_writes);

    auto existing = h.get(h.accounts(), keys::token(secret_hash));
    if (!existing) return existing.error();
    if (*existing) return make_error(errc::conflict, "a token with this secret exists");
    auto index = read_token_index(h, token.user);
    if (!index) return index.error();
    if (only_if_first && !index->empty()) return make_error(errc::forbidden, "the user already has a token");
    for (const auto& t : *index)
        if (t.entry.id == token.id) return make_error(errc::conflict, "the user has a token with this id");

    auto number = index->empty() ? 1 : index->back().number + 1;
    rocksdb::WriteBatch batch;
    batch.Put(h.accounts(), keys::token(secret_hash), keys::encode_token(token));
    batch.Put(h.accounts(), keys::token_index(token.user, number),
              keys::encode_token_index({secret_hash, token.id}));
    return h.commit(batch);
}

outcome<std::vector<token_record>> rocksdb_store::list_tokens(const uuid& user) const {
    auto& h = *impl_->handle;
    rocksdb::ManagedSnapshot snap(&h.db());
    auto index = read_token_index(h, user, snap.snapshot());
    if (!index) return index.error();

    std::vector<std::string> key_storage;
    key_storage.reserve(index->size());
    for (const auto& t : *index) key_storage.push_back(keys::token(t.entry.secret_hash));
    std::vector<rocksdb::Slice> key_slices(key_storage.begin(), key_storage.end());
    std::vector<rocksdb::PinnableSlice> values(key_slices.size());
    std::vector<rocksdb::Status> statuses(key_slices.size());
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    h.db().MultiGet(ro, h.accounts(), key_slices.size(), key_slices.data(), values.data(), statuses.data());

    std::vector<token_record> out;
    out.reserve(index->size());
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        if (statuses[i].IsNotFound()) return corrupt("token index (a token without its record)");
        if (!statuses[i].ok()) return db_handle::read_error(statuses[i]);
        auto t = keys::decode_token(values[i].ToStringView());
        if (!t) return corrupt("token record");
        out.push_back(std::move(*t));
    }
    return out;
}

outcome<digest> rocksdb_store::revoke_token(const uuid& user, std::string_view id) {
    if (auto w = impl_->check_writable(); !w) return w.error();
    auto& h = *impl_->handle;
    std::lock_guard lock(impl_->token_writes);
    auto index = read_token_index(h, user);
    if (!index) return index.error();
    auto it = std::find_if(index->begin(), index->end(), [&](const indexed_token& t) { return t.entry.id == id; });
    if (it == index->end()) return make_error(errc::not_found, "the user has no token with this id");
    rocksdb::WriteBatch batch;
    batch.Delete(h.accounts(), it->key);
    batch.Delete(h.accounts(), keys::token(it->entry.secret_hash));
    if (auto c = h.commit(batch); !c) return c.error();
    return it->entry.secret_hash;
}

outcome<std::vector<uuid>> rocksdb_store::list_users(const std::optional<uuid>& after, std::size_t limit) const {
    std::vector<uuid> out;
    auto from = after ? keys::next_user(*after) : std::optional<uuid>(uuid{});
    if (limit == 0 || !from) return out;

    auto& h = *impl_->handle;
    rocksdb::ManagedSnapshot snap(&h.db());
    rocksdb::ReadOptions ro;
    ro.snapshot = snap.snapshot();
    // Users with data have keys in the metadata family (a chunk has its
    // size record there too); users with tokens or a quota, 'u' keys.
    user_scan data(h.db().NewIterator(ro, h.meta()), "");
    user_scan accounts(h.db().NewIterator(ro, h.accounts()), keys::account_users_prefix());
    while (from && out.size() < limit) {
        auto a = data.first_from(*from);
        if (!a) return a.error();
        auto b = accounts.first_from(*from);
        if (!b) return b.error();
        if (!*a && !*b) break;
        auto user = !*a ? **b : !*b ? **a : std::min(**a, **b);
        out.push_back(user);
        from = keys::next_user(user);
    }
    return out;
}

}  // namespace chunklog::storage
