// The SQL steps of postgresql_store (store_impl.hpp).
#include "storage/postgresql/store_impl.hpp"

#include <unordered_set>

namespace chunklog::storage::pg {
namespace {

// The users columns every read takes, in this order.
constexpr const char* user_columns =
    "head, head_seq, history_from, chunk_count, chunk_bytes, origin_parent, origin_version, "
    "snapshot_transaction, snapshot_seq, snapshot_created, snapshot_chunks";

outcome<user_row> decode_user(const result& r) {
    user_row row;
    if (r.rows() == 0) return row;
    row.exists = true;
    auto head = r.id(0, 0);
    if (!head) return head.error();
    row.head = {*head, static_cast<std::uint64_t>(r.i64(0, 1))};
    row.history_from = static_cast<std::uint64_t>(r.i64(0, 2));
    row.chunk_count = r.i64(0, 3);
    row.chunk_bytes = r.i64(0, 4);
    if (!r.null(0, 5) && !r.null(0, 6)) {
        auto parent = r.id(0, 5);
        auto version = r.id(0, 6);
        if (!parent || !version) return make_error(errc::internal, "corrupt origin parent record");
        row.origin_parent = *parent;
        row.origin_version = *version;
    }
    if (!r.null(0, 7)) {
        auto t = r.id(0, 7);
        auto chunks = split_digests(r.bytes(0, 10));
        if (!t || !chunks) return make_error(errc::internal, "corrupt snapshot record");
        row.snapshot = snapshot_record{*t, static_cast<std::uint64_t>(r.i64(0, 8)), r.i64(0, 9), std::move(*chunks)};
    }
    return row;
}

}  // namespace

std::string join_ids(std::span<const digest> ids) {
    std::string out;
    out.reserve(ids.size() * digest::size);
    for (const auto& id : ids) out.append(id.raw());
    return out;
}

std::string join_ids(std::span<const uuid> ids) {
    std::string out;
    out.reserve(ids.size() * uuid::size);
    for (const auto& id : ids) out.append(id.raw());
    return out;
}

outcome<std::vector<digest>> split_digests(std::string_view joined) {
    if (joined.size() % digest::size != 0) return make_error(errc::internal, "corrupt chunk list in the database");
    std::vector<digest> out;
    out.reserve(joined.size() / digest::size);
    for (std::size_t i = 0; i < joined.size(); i += digest::size)
        out.push_back(*digest::from_bytes(joined.substr(i, digest::size)));
    return out;
}

outcome<user_row> read_user(connection& c, const uuid& user) {
    auto sql = std::string("SELECT ") + user_columns + " FROM chunklog_users WHERE user_id = $1";
    auto r = c.run(sql.c_str(), params().add(user));
    if (!r) return r.error();
    return decode_user(*r);
}

outcome<user_row> lock_user(connection& c, const uuid& user) {
    // A user with a row: one round trip that locks it and writes nothing.
    // The user's own quota comes along, for the write's quota check.
    static const std::string lock = std::string("SELECT ") + user_columns +
                                    ", false, (SELECT bytes FROM chunklog_quotas q WHERE q.user_id = $1) "
                                    "FROM chunklog_users WHERE user_id = $1 FOR UPDATE";
    // Else the upsert inserts the row, or locks the one a racing writer
    // inserted meanwhile (it waits for that writer, and inserts after all
    // if it deleted the row); xmax is 0 on a row this transaction inserted.
    static const std::string upsert =
        std::string("WITH u AS (INSERT INTO chunklog_users (user_id, head, head_seq) VALUES ($1, $2, 0) "
                    "ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING *, xmax = 0 AS created) "
                    "SELECT ") +
        user_columns + ", created, (SELECT bytes FROM chunklog_quotas q WHERE q.user_id = $1) FROM u";
    auto r = c.run(lock.c_str(), params().add(user));
    if (r && r->rows() == 0) r = c.run(upsert.c_str(), params().add(user).add(root_id));
    if (!r) return r.error();
    auto row = decode_user(*r);
    if (!row) return row.error();
    if (!row->exists) return make_error(errc::internal, "the user's row was neither inserted nor found");
    row->created = r->boolean(0, 11);
    row->own_quota = r->optional_i64(0, 12);
    row->quota_read = true;
    return row;
}

outcome<void> forget_if_unused(connection& c, const uuid& user, const user_row& row) {
    if (!row.created) return {};
    auto r = c.run("DELETE FROM chunklog_users u WHERE user_id = $1 AND head_seq = 0 AND chunk_count = 0 "
                   "AND snapshot_transaction IS NULL AND NOT EXISTS "
                   "(SELECT 1 FROM chunklog_transactions t WHERE t.user_id = u.user_id)",
                   params().add(user));
    if (!r) return r.error();
    return {};
}

outcome<std::optional<stored_tx>> read_transaction(connection& c, const uuid& user, const uuid& id) {
    auto r = c.run("SELECT parent, seq, chunks, committed FROM chunklog_transactions WHERE user_id = $1 AND id = $2",
                   params().add(user).add(id));
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<stored_tx>{};
    auto parent = r->id(0, 0);
    auto chunks = split_digests(r->bytes(0, 2));
    if (!parent || !chunks) return make_error(errc::internal, "corrupt transaction record");
    stored_tx t{{id, *parent, static_cast<std::uint64_t>(r->i64(0, 1)), std::move(*chunks)}, r->optional_i64(0, 3)};
    return std::optional<stored_tx>{std::move(t)};
}

outcome<std::optional<std::pair<uuid, std::int64_t>>> chain_at(connection& c, const uuid& user, std::uint64_t seq) {
    using entry = std::optional<std::pair<uuid, std::int64_t>>;
    auto r = c.run("SELECT id, committed FROM chunklog_transactions "
                   "WHERE user_id = $1 AND seq = $2 AND committed IS NOT NULL",
                   params().add(user).add(seq));
    if (!r) return r.error();
    if (r->rows() == 0) return entry{};
    auto id = r->id(0, 0);
    if (!id) return id.error();
    return entry{{*id, r->i64(0, 1)}};
}

outcome<bool> has_children(connection& c, const uuid& user, const uuid& id) {
    auto r = c.run("SELECT 1 FROM chunklog_transactions WHERE user_id = $1 AND parent = $2 LIMIT 1",
                   params().add(user).add(id));
    if (!r) return r.error();
    return r->rows() != 0;
}

std::vector<digest> distinct_ids(std::span<const digest> ids) {
    std::vector<digest> out;
    std::unordered_set<digest, id_hash> seen;
    for (const auto& id : ids)
        if (seen.insert(id).second) out.push_back(id);
    return out;
}

outcome<std::vector<digest>> not_found_by(connection& c, const char* sql, const uuid& user,
                                          std::span<const digest> ids) {
    auto wanted = distinct_ids(ids);
    if (wanted.empty()) return wanted;
    auto r = c.run(sql, params().add(user).add_bytes(join_ids(wanted)));
    if (!r) return r.error();
    std::unordered_set<digest, id_hash> found;
    for (int i = 0; i < r->rows(); ++i) {
        auto d = r->hash(i, 0);
        if (!d) return d.error();
        found.insert(*d);
    }
    std::erase_if(wanted, [&](const digest& d) { return found.contains(d); });
    return wanted;
}

outcome<std::vector<digest>> missing_chunks(connection& c, const uuid& user, std::span<const digest> ids) {
    return not_found_by(c,
                        "SELECT id FROM chunklog_chunks WHERE user_id = $1 AND id IN "
                        "(SELECT substring($2 FROM i * 32 + 1 FOR 32) FROM generate_series(0, length($2) / 32 - 1) AS i)",
                        user, ids);
}

outcome<std::uint64_t> committed_seq(connection& c, const uuid& user, const uuid& from, const user_row& row) {
    auto removed = [] {
        return make_error(errc::history_truncated, "`from` is in the history removed by truncation: "
                                                   "start from the snapshot");
    };
    if (from.is_root()) {
        if (row.history_from != 0) return removed();
        return std::uint64_t{0};
    }
    auto t = read_transaction(c, user, from);
    if (!t) return t.error();
    if (!*t) {
        if (row.history_from != 0) return removed();
        return make_error(errc::not_found, "`from` is not a committed transaction");
    }
    if (!(*t)->committed) return make_error(errc::not_found, "`from` is not a committed transaction");
    return (*t)->record.seq;
}

outcome<std::optional<std::pair<uuid, uuid>>> origin_of(connection& c, const uuid& user, const user_row& row) {
    using origin = std::optional<std::pair<uuid, uuid>>;
    if (!row.origin_parent) return origin{};
    auto first = chain_at(c, user, 1);
    if (!first) return first.error();
    if (!*first || (*first)->first != *row.origin_version) return origin{};
    return origin{{*row.origin_parent, *row.origin_version}};
}

outcome<void> add_references(connection& c, const uuid& user, std::span<const digest> chunks, std::int64_t delta) {
    auto distinct = distinct_ids(chunks);
    if (distinct.empty()) return {};
    auto r = c.run("UPDATE chunklog_chunks SET refs = refs + $3 WHERE user_id = $1 AND id IN "
                   "(SELECT substring($2 FROM i * 32 + 1 FOR 32) FROM generate_series(0, length($2) / 32 - 1) AS i)",
                   params().add(user).add_bytes(join_ids(distinct)).add(delta));
    if (!r) return r.error();
    return {};
}

outcome<std::optional<std::uint64_t>> read_quota(connection& c, const uuid& user) {
    auto r = c.run("SELECT bytes FROM chunklog_quotas WHERE user_id = $1", params().add(user));
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<std::uint64_t>{};
    return std::optional<std::uint64_t>{static_cast<std::uint64_t>(r->i64(0, 0))};
}

error conflict(const head_state& h, std::string message) {
    auto e = make_error(errc::conflict, std::move(message));
    e.head = h.head;
    return e;
}

}  // namespace chunklog::storage::pg
