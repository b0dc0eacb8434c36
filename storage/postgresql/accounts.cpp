// postgresql_store's accounts part (tokens, quotas) and the user listing.
#include "storage/postgresql/store_impl.hpp"
#include "storage/rules.hpp"

#include <algorithm>

namespace chunklog::storage {

using pg::params;

namespace {


constexpr const char* token_columns = "user_id, id, scope, label, created, expires";

outcome<token_record> decode_token(const pg::result& r, int row) {
    auto user = r.id(row, 0);
    if (!user) return user.error();
    auto scope = r.i16(row, 2);
    if (scope != static_cast<int>(token_scope::read) && scope != static_cast<int>(token_scope::write))
        return make_error(errc::internal, "corrupt token record");
    return token_record{r.text(row, 1), *user, static_cast<token_scope>(scope), r.text(row, 3), r.i64(row, 4),
                        r.optional_i64(row, 5)};
}

// Serializes the token writes of one user across nodes, until the transaction ends.
outcome<void> lock_tokens(pg::connection& c, const uuid& user) {
    auto r = c.run("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))", params().add(user));
    if (!r) return r.error();
    return {};
}

}  // namespace

outcome<void> postgresql_store::set_quota(const uuid& user, std::optional<std::uint64_t> bytes) {
    return impl_->write([&](pg::connection& c) -> outcome<void> {
        auto r = bytes ? c.run("INSERT INTO chunklog_quotas (user_id, bytes) VALUES ($1, $2) "
                               "ON CONFLICT (user_id) DO UPDATE SET bytes = EXCLUDED.bytes",
                               params().add(user).add(*bytes))
                       : c.run("DELETE FROM chunklog_quotas WHERE user_id = $1", params().add(user));
        if (!r) return r.error();
        return {};
    });
}

outcome<std::optional<std::uint64_t>> postgresql_store::user_quota(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) { return pg::read_quota(c, user); });
}

outcome<std::uint64_t> postgresql_store::quota_in_force(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) { return impl_->quota_in_force(c, user); });
}

outcome<std::optional<token_record>> postgresql_store::find_token(const digest& secret_hash) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<std::optional<token_record>> {
        auto sql = std::string("SELECT ") + token_columns + " FROM chunklog_tokens WHERE secret_hash = $1";
        auto r = c.run(sql.c_str(), params().add(secret_hash));
        if (!r) return r.error();
        if (r->rows() == 0) return std::optional<token_record>{};
        auto t = decode_token(*r, 0);
        if (!t) return t.error();
        return std::optional{std::move(*t)};
    });
}

outcome<void> postgresql_store::create_token(const digest& secret_hash, const token_record& token, bool only_if_first) {
    if (!rules::valid_token_id(token.id))
        return make_error(errc::bad_request, "a token id is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'");
    if (token.scope != token_scope::read && token.scope != token_scope::write)
        return make_error(errc::bad_request, "unknown token scope");
    return impl_->write([&](pg::connection& c) -> outcome<void> {
        if (auto l = lock_tokens(c, token.user); !l) return l;
        auto taken = c.run("SELECT 1 FROM chunklog_tokens WHERE secret_hash = $1", params().add(secret_hash));
        if (!taken) return taken.error();
        if (taken->rows() != 0) return make_error(errc::conflict, "a token with this secret exists");
        auto mine = c.run("SELECT count(*), coalesce(max(number), 0), count(*) FILTER (WHERE id = $2) "
                          "FROM chunklog_tokens WHERE user_id = $1",
                          params().add(token.user).add_text(token.id));
        if (!mine) return mine.error();
        if (only_if_first && mine->i64(0, 0) != 0) return make_error(errc::forbidden, "the user already has a token");
        if (mine->i64(0, 2) != 0) return make_error(errc::conflict, "the user has a token with this id");
        auto r = c.run("INSERT INTO chunklog_tokens (secret_hash, user_id, id, number, scope, label, created, expires) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       params().add(secret_hash).add(token.user).add_text(token.id).add(mine->i64(0, 1) + 1)
                           .add(static_cast<std::int64_t>(token.scope)).add_text(token.label).add(token.created)
                           .add(token.expires));
        if (!r) return r.error();
        return {};
    });
}

outcome<std::vector<token_record>> postgresql_store::list_tokens(const uuid& user) const {
    return impl_->read_one([&](pg::connection& c) -> outcome<std::vector<token_record>> {
        auto sql = std::string("SELECT ") + token_columns + " FROM chunklog_tokens WHERE user_id = $1 ORDER BY number";
        auto r = c.run(sql.c_str(), params().add(user));
        if (!r) return r.error();
        std::vector<token_record> out;
        for (int i = 0; i < r->rows(); ++i) {
            auto t = decode_token(*r, i);
            if (!t) return t.error();
            out.push_back(std::move(*t));
        }
        return out;
    });
}

outcome<digest> postgresql_store::revoke_token(const uuid& user, std::string_view id) {
    return impl_->write([&](pg::connection& c) -> outcome<digest> {
        if (auto l = lock_tokens(c, user); !l) return l.error();
        auto r = c.run("DELETE FROM chunklog_tokens WHERE user_id = $1 AND id = $2 RETURNING secret_hash",
                       params().add(user).add_text(id));
        if (!r) return r.error();
        if (r->rows() == 0) return make_error(errc::not_found, "the user has no token with this id");
        auto hash = r->hash(0, 0);
        // The other nodes forget it from their token caches once this commits.
        if (hash) c.notify_after_commit("chunklog_token", hash->to_string());
        return hash;
    });
}

outcome<std::vector<uuid>> postgresql_store::list_users(const std::optional<uuid>& after, std::size_t limit) const {
    std::vector<uuid> out;
    if (limit == 0) return out;
    return impl_->read_one([&](pg::connection& c) -> outcome<std::vector<uuid>> {
        // Users with data, tokens or a quota; ROOT (the nil uuid) sorts first, so it stands for "from the start".
        auto r = c.run("SELECT u FROM (SELECT user_id AS u FROM chunklog_users UNION "
                       "SELECT user_id FROM chunklog_tokens UNION SELECT user_id FROM chunklog_quotas) s "
                       "WHERE u > $1 OR ($3::boolean AND u = $1) ORDER BY u LIMIT $2",
                       params().add(after.value_or(uuid{})).add(static_cast<std::int64_t>(limit))
                           .add_text(after ? "false" : "true"));
        if (!r) return r.error();
        std::vector<uuid> users;
        for (int i = 0; i < r->rows(); ++i) {
            auto u = r->id(i, 0);
            if (!u) return u.error();
            users.push_back(*u);
        }
        return users;
    });
}

}  // namespace chunklog::storage
