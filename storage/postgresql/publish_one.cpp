// The common publish in one round trip: new chunks and one new transaction
// on HEAD that becomes HEAD, done by chunklog_publish_one (schema.cpp) as a
// statement of its own. Anything else, and anything that function finds
// not to hold, goes through the general publish (writes.cpp).
#include "storage/postgresql/store_impl.hpp"
#include "storage/postgresql/store_notifier.hpp"

#include <algorithm>

namespace chunklog::storage {

using pg::params;

namespace {

// The request's shape when the function can do it: one transaction, which
// becomes HEAD, and which the general publish would not refuse outright.
const new_transaction* single_transaction_on_head(const publish_request& request) {
    if (request.transactions.size() != 1 || !request.head) return nullptr;
    const auto& t = request.transactions.front();
    if (*request.head != t.id || t.id.is_root() || t.id == t.parent) return nullptr;
    return &t;
}

// The function's arguments after the user, time and quota: the request's
// distinct chunks with the references the transaction adds to each, the
// transaction, and the other chunks it names.
params publish_one_arguments(params p, const publish_request& request, const new_transaction& t) {
    std::unordered_set<digest, id_hash> named(t.chunks.begin(), t.chunks.end());
    std::unordered_set<digest, id_hash> carried;
    std::string ids;
    std::vector<std::string_view> bytes;
    std::vector<std::int64_t> refs;
    for (const auto& [id, b] : request.chunks) {
        if (!carried.insert(id).second) continue;  // a repeat: the first one counts
        ids.append(id.raw());
        bytes.push_back(b);
        refs.push_back(named.contains(id) ? 1 : 0);
    }
    std::vector<std::string_view> id_views;
    for (std::size_t i = 0; i < ids.size(); i += digest::size) id_views.emplace_back(ids.data() + i, digest::size);
    std::vector<std::string> others;
    for (const auto& id : pg::distinct_ids(t.chunks))
        if (!carried.contains(id)) others.emplace_back(id.raw());
    std::vector<std::string_view> other_views(others.begin(), others.end());
    p.add_bytes_array(id_views).add_bytes_array(bytes).add_array(refs);
    p.add(t.id).add(t.parent);
    if (t.seq) p.add(*t.seq);
    else p.add_null();
    return std::move(p.add_bytes(pg::join_ids(t.chunks)).add_bytes_array(other_views));
}

}  // namespace

outcome<std::optional<publish_result>> postgresql_store::impl::publish_one(const uuid& user,
                                                                           const publish_request& request) {
    using answer = std::optional<publish_result>;
    const auto* t = single_transaction_on_head(request);
    if (t == nullptr) return answer{};
    auto args = publish_one_arguments(params().add(user).add(now()).add(default_quota), request, *t);
    bool contended = false;
    auto r = write_one([&](pg::connection& c) -> outcome<pg::result> {
        auto done = c.run("SELECT status, seq, chunks_created, bytes_created, snapshot_seq, since FROM "
                          "chunklog_publish_one($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                          args);
        contended = !done && c.last_failure() && pg::retryable(*c.last_failure());
        return done;
    });
    // The general publish retries a conflict with another writer.
    if (!r) return contended ? outcome<answer>(answer{}) : outcome<answer>(r.error());
    if (r->i32(0, 0) != 0) return answer{};
    notifier->post("chunklog_head", user.to_string());  // to every node's listener
    publish_result result;
    auto seq = static_cast<std::uint64_t>(r->i64(0, 1));
    result.before = head_state{t->parent, seq - 1};
    result.after = head_state{t->id, seq};
    result.head_advanced = true;
    result.chunks_created = static_cast<std::size_t>(r->i64(0, 2));
    result.chunk_bytes_created = static_cast<std::uint64_t>(r->i64(0, 3));
    result.transactions_created = 1;
    if (!r->null(0, 5)) result.urgency = urgency_at(seq, static_cast<std::uint64_t>(r->i64(0, 4)), r->i64(0, 5));
    return answer{std::move(result)};
}

}  // namespace chunklog::storage
