#include "storage/postgresql/schema.hpp"

#include <iterator>
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

// Version 2: chunklog_publish_one, the common publish (new chunks and one
// new transaction on HEAD, which becomes HEAD) in one round trip. It locks
// the user's row, then checks and writes with one statement: HEAD is still
// the transaction's parent (and `p_seq`, when given, its seq), the
// transaction is new, every chunk it names that the request does not carry
// is stored, and the new chunks fit the quota. When anything does not hold
// it writes nothing and answers status 1, and the store runs the general
// publish, which gives the precise answer. Otherwise status 0, HEAD's new
// seq, the chunks and bytes it stored, and what the snapshot urgency counts
// from: the snapshot's seq (0 without one) and the time since when (the
// snapshot's, or else the first commit's still stored). A chunk of the request comes with
// the references the transaction adds to it (1 or 0); `p_other_ids` are the
// other chunks the transaction names, distinct. Generic plans: the plans
// for these parameter shapes do not depend on their values, and planning
// each call would cost more than the call.
const char* const version_2 = R"sql(
CREATE FUNCTION chunklog_publish_one(
    p_user uuid, p_now bigint, p_default_quota bigint,
    p_chunk_ids bytea[], p_chunk_bytes bytea[], p_refs bigint[],
    p_tx uuid, p_parent uuid, p_seq bigint, p_tx_chunks bytea, p_other_ids bytea[],
    OUT status int, OUT seq bigint, OUT chunks_created bigint, OUT bytes_created bigint,
    OUT snapshot_seq bigint, OUT since bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    u record;
BEGIN
    SELECT head, head_seq, greatest(chunk_bytes, 0) AS stored_bytes, history_from,
           users.snapshot_seq AS base, snapshot_created,
           coalesce((SELECT q.bytes FROM chunklog_quotas q WHERE q.user_id = p_user), p_default_quota) AS quota
      INTO u FROM chunklog_users users WHERE user_id = p_user FOR UPDATE;
    IF NOT FOUND OR u.head <> p_parent OR (p_seq IS NOT NULL AND p_seq <> u.head_seq + 1) THEN
        status := 1;
        RETURN;
    END IF;
    -- A statement of its own: its snapshot is taken after the lock, so it
    -- sees everything the user's earlier writes committed.
    WITH fresh AS (
        SELECT r.b FROM unnest(p_chunk_ids, p_chunk_bytes) AS r(id, b)
         WHERE NOT EXISTS (SELECT 1 FROM chunklog_chunks c WHERE c.user_id = p_user AND c.id = r.id)),
    checked AS (
        SELECT n.count, n.bytes,
               NOT EXISTS (SELECT 1 FROM chunklog_transactions t WHERE t.user_id = p_user AND t.id = p_tx)
               AND (SELECT count(*) FROM chunklog_chunks c WHERE c.user_id = p_user AND c.id = ANY (p_other_ids))
                   = cardinality(p_other_ids)
               AND (n.bytes = 0 OR u.quota = 0 OR u.stored_bytes + n.bytes <= u.quota) AS ok
          FROM (SELECT count(*) AS count, coalesce(sum(length(b)), 0) AS bytes FROM fresh) n),
    new_chunks AS (
        INSERT INTO chunklog_chunks AS c (user_id, id, size, stored, refs, bytes)
        SELECT p_user, r.id, length(r.b), p_now, r.refs, r.b
          FROM unnest(p_chunk_ids, p_chunk_bytes, p_refs) AS r(id, b, refs), checked WHERE checked.ok
        ON CONFLICT (user_id, id) DO UPDATE SET stored = EXCLUDED.stored, refs = c.refs + EXCLUDED.refs),
    referenced AS (
        UPDATE chunklog_chunks c SET refs = refs + 1 FROM checked
         WHERE checked.ok AND c.user_id = p_user AND c.id = ANY (p_other_ids)),
    new_transaction AS (
        INSERT INTO chunklog_transactions (user_id, id, parent, seq, chunks, stored, committed)
        SELECT p_user, p_tx, p_parent, u.head_seq + 1, p_tx_chunks, p_now, p_now FROM checked WHERE checked.ok),
    moved AS (
        UPDATE chunklog_users s SET head = p_tx, head_seq = u.head_seq + 1,
               chunk_count = s.chunk_count + checked.count, chunk_bytes = s.chunk_bytes + checked.bytes
          FROM checked WHERE checked.ok AND s.user_id = p_user)
    SELECT CASE WHEN checked.ok THEN 0 ELSE 1 END, u.head_seq + 1, checked.count, checked.bytes,
           coalesce(u.base, 0),
           CASE WHEN u.base IS NOT NULL THEN u.snapshot_created
                WHEN u.history_from = u.head_seq THEN p_now
                ELSE (SELECT t.committed FROM chunklog_transactions t
                       WHERE t.user_id = p_user AND t.seq = u.history_from + 1 AND t.committed IS NOT NULL) END
      INTO status, seq, chunks_created, bytes_created, snapshot_seq, since FROM checked;
END $$;
)sql";

// The script that takes the schema from version i to version i + 1.
const char* const upgrades[] = {version_1, version_2};
static_assert(static_cast<std::int64_t>(std::size(upgrades)) == schema_version);

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
    for (auto v = found; v < schema_version; ++v)
        if (auto s = c.run_script(upgrades[v]); !s) return fail(s.error());
    if (found < schema_version) {
        auto recorded = c.run(found == 0 ? "INSERT INTO chunklog_schema (version) VALUES ($1)"
                                         : "UPDATE chunklog_schema SET version = $1",
                              params().add(schema_version));
        if (!recorded) return fail(recorded.error());
        if (log_info)
            log_info(found == 0 ? "created the chunklog schema, version " + std::to_string(schema_version)
                                : "upgraded the chunklog schema from version " + std::to_string(found) + " to " +
                                      std::to_string(schema_version));
    }
    if (auto e = c.run("COMMIT"); !e) return e.error();
    return {};
}

}  // namespace chunklog::storage::pg
