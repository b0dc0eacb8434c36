#include "storage/postgresql/schema.hpp"

#include <string>

namespace chunklog::storage::pg {
namespace {

// Version 1. Every table is keyed by the user first, so that a user's rows
// stay together and users can be sharded by id (docs/deployment.md).
//   chunklog_users: one row per user with data: HEAD, the truncation point,
//     the chunk counters, the origin parent (protocol section 12) and the
//     snapshot (section 8). A write locks its user's row first, so a user's
//     writes are serialized across every node.
//   chunklog_chunks: the chunks, with their references (transactions and
//     the snapshot naming them) and stored time, for garbage collection.
//   chunklog_transactions: every stored transaction; `committed` (the commit
//     time) is set once it is on the chain, whose index is (user, seq).
//   chunklog_quotas, chunklog_tokens: the accounts, kept by delete_user.
const char* const version_1 = R"sql(
CREATE TABLE chunklog_users (
    user_id uuid PRIMARY KEY,
    head uuid NOT NULL,
    head_seq bigint NOT NULL,
    history_from bigint NOT NULL DEFAULT 0,
    chunk_count bigint NOT NULL DEFAULT 0,
    chunk_bytes bigint NOT NULL DEFAULT 0,
    origin_parent uuid,
    origin_version uuid,
    snapshot_transaction uuid,
    snapshot_seq bigint,
    snapshot_created bigint,
    snapshot_chunks bytea
);
CREATE TABLE chunklog_chunks (
    user_id uuid NOT NULL,
    id bytea NOT NULL,
    size bigint NOT NULL,
    stored bigint NOT NULL,
    refs bigint NOT NULL DEFAULT 0,
    bytes bytea NOT NULL,
    PRIMARY KEY (user_id, id)
);
ALTER TABLE chunklog_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;
CREATE INDEX chunklog_unreferenced ON chunklog_chunks (user_id, stored) WHERE refs <= 0;
CREATE TABLE chunklog_transactions (
    user_id uuid NOT NULL,
    id uuid NOT NULL,
    parent uuid NOT NULL,
    seq bigint NOT NULL,
    chunks bytea NOT NULL,
    stored bigint NOT NULL,
    committed bigint,
    PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX chunklog_chain ON chunklog_transactions (user_id, seq) WHERE committed IS NOT NULL;
CREATE INDEX chunklog_children ON chunklog_transactions (user_id, parent);
CREATE INDEX chunklog_uncommitted ON chunklog_transactions (user_id, stored) WHERE committed IS NULL;
CREATE TABLE chunklog_quotas (
    user_id uuid PRIMARY KEY,
    bytes bigint NOT NULL
);
CREATE TABLE chunklog_tokens (
    secret_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL,
    id text NOT NULL,
    number bigint NOT NULL,
    scope smallint NOT NULL,
    label text NOT NULL,
    created bigint NOT NULL,
    expires bigint,
    UNIQUE (user_id, id),
    UNIQUE (user_id, number)
);
)sql";

}  // namespace

outcome<void> prepare_schema(connection& c, const std::function<void(std::string_view)>& log_info) {
    if (auto b = c.run("BEGIN"); !b) return b.error();
    auto fail = [&](error e) -> outcome<void> {
        (void)c.run("ROLLBACK");
        return e;
    };
    if (auto l = c.run("SELECT pg_advisory_xact_lock($1)", params().add(schema_lock_key)); !l) return fail(l.error());
    if (auto t = c.run("CREATE TABLE IF NOT EXISTS chunklog_schema (version bigint NOT NULL)"); !t)
        return fail(t.error());
    auto v = c.run("SELECT version FROM chunklog_schema");
    if (!v) return fail(v.error());
    std::int64_t found = v->rows() == 0 ? 0 : v->i64(0, 0);
    if (found > schema_version)
        return fail(make_error(errc::internal, "the database holds chunklog schema version " + std::to_string(found) +
                                                   ", newer than this chunklogd's " + std::to_string(schema_version) +
                                                   ": run a newer chunklogd"));
    if (found == 0) {
        if (auto s = c.run_script(version_1); !s) return fail(s.error());
        if (auto i = c.run("INSERT INTO chunklog_schema (version) VALUES ($1)", params().add(schema_version)); !i)
            return fail(i.error());
        if (log_info) log_info("created the chunklog schema, version " + std::to_string(schema_version));
    }
    // Upgrades from older versions go here, one step per version, in this transaction.
    if (auto e = c.run("COMMIT"); !e) return e.error();
    return {};
}

}  // namespace chunklog::storage::pg
