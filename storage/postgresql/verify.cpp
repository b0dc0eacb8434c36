// verify_postgresql: the invariants of a PostgreSQL store, each checked by
// one query in a single repeatable-read transaction (one state of the
// database, also while servers write to it). Each query returns the text of
// the problems it finds.
#include "storage/postgresql/pg.hpp"
#include "storage/postgresql/schema.hpp"

#include <chunklog/storage/maintenance.hpp>

namespace chunklog::storage {
namespace {

constexpr const char* root = "'00000000-0000-0000-0000-000000000000'::uuid";

// Every chunk named by a transaction (once per transaction) or by the snapshot.
constexpr const char* named_chunks = R"sql(
    SELECT DISTINCT t.user_id, t.id AS holder, substring(t.chunks FROM i * 32 + 1 FOR 32) AS chunk
    FROM chunklog_transactions t, generate_series(0, length(t.chunks) / 32 - 1) AS i
    UNION ALL
    SELECT DISTINCT u.user_id, u.snapshot_transaction, substring(u.snapshot_chunks FROM i * 32 + 1 FOR 32)
    FROM chunklog_users u, generate_series(0, length(u.snapshot_chunks) / 32 - 1) AS i
    WHERE u.snapshot_chunks IS NOT NULL)sql";

std::vector<std::string> checks() {
    std::string r = root;
    return {
        // Chunks: bytes against id and size; counters against the chunks.
        "SELECT format('user %s: chunk %s %s', user_id, encode(id, 'hex'), CASE WHEN sha256(bytes) <> id "
        "THEN 'does not hash to its id' ELSE 'has a wrong size record' END) FROM chunklog_chunks "
        "WHERE sha256(bytes) <> id OR length(bytes) <> size",
        "SELECT format('user %s: counters say %s chunks of %s bytes, stored are %s of %s bytes', u.user_id, "
        "u.chunk_count, u.chunk_bytes, coalesce(c.n, 0), coalesce(c.b, 0)) FROM chunklog_users u LEFT JOIN "
        "(SELECT user_id, count(*) AS n, sum(size) AS b FROM chunklog_chunks GROUP BY user_id) c USING (user_id) "
        "WHERE u.chunk_count <> coalesce(c.n, 0) OR u.chunk_bytes <> coalesce(c.b, 0)",
        // References: each chunk's count against the transactions and the snapshot naming it.
        std::string("WITH counted AS (SELECT user_id, chunk, count(*) AS refs FROM (") + named_chunks +
            ") n GROUP BY user_id, chunk) "
            "SELECT format('user %s: chunk %s is named %s times but %s', coalesce(c.user_id, n.user_id), "
            "encode(coalesce(c.id, n.chunk), 'hex'), coalesce(n.refs, 0), CASE WHEN c.id IS NULL THEN 'is not stored' "
            "ELSE 'counts ' || c.refs || ' references' END) "
            "FROM chunklog_chunks c FULL JOIN counted n ON c.user_id = n.user_id AND c.id = n.chunk "
            "WHERE c.id IS NULL OR coalesce(n.refs, 0) <> c.refs",
        // The chain: exactly the seqs after the truncated history up to HEAD, HEAD at its end.
        "SELECT format('user %s: the chain holds %s committed transactions (seq %s to %s), HEAD says seq %s after "
        "history up to %s', u.user_id, coalesce(c.n, 0), c.lo, c.hi, u.head_seq, u.history_from) "
        "FROM chunklog_users u LEFT JOIN (SELECT user_id, count(*) AS n, min(seq) AS lo, max(seq) AS hi "
        "FROM chunklog_transactions WHERE committed IS NOT NULL GROUP BY user_id) c USING (user_id) "
        "WHERE coalesce(c.n, 0) <> u.head_seq - u.history_from OR (c.n > 0 AND (c.lo <> u.history_from + 1 "
        "OR c.hi <> u.head_seq))",
        "SELECT format('user %s: HEAD %s at seq %s is not the committed transaction there', u.user_id, u.head, "
        "u.head_seq) FROM chunklog_users u WHERE (u.head_seq = 0 AND u.head <> " + r + ") OR (u.head_seq > 0 AND "
        "NOT EXISTS (SELECT 1 FROM chunklog_transactions t WHERE t.user_id = u.user_id AND t.id = u.head "
        "AND t.committed IS NOT NULL AND t.seq = u.head_seq))",
        // Parent links.
        "SELECT format('user %s: transaction %s (seq %s) has parent %s, which is %s', t.user_id, t.id, t.seq, "
        "t.parent, CASE WHEN t.parent = " + r + " THEN 'ROOT' WHEN p.id IS NULL THEN 'not stored' "
        "WHEN t.seq <> p.seq + 1 THEN 'at seq ' || p.seq ELSE 'not committed' END) "
        "FROM chunklog_transactions t JOIN chunklog_users u ON u.user_id = t.user_id "
        "LEFT JOIN chunklog_transactions p ON p.user_id = t.user_id AND p.id = t.parent "
        "WHERE (t.parent = " + r + " AND t.seq <> 1) OR (t.parent <> " + r + " AND p.id IS NULL AND NOT "
        "(t.committed IS NOT NULL AND u.history_from > 0 AND t.seq = u.history_from + 1)) "
        "OR (p.id IS NOT NULL AND t.seq <> p.seq + 1) OR (t.committed IS NOT NULL AND p.id IS NOT NULL "
        "AND p.committed IS NULL)",
        "SELECT format('user %s: %s transactions and chunks but no user record', x.user_id, count(*)) FROM "
        "(SELECT user_id FROM chunklog_transactions UNION ALL SELECT user_id FROM chunklog_chunks) x "
        "WHERE NOT EXISTS (SELECT 1 FROM chunklog_users u WHERE u.user_id = x.user_id) GROUP BY x.user_id",
        // The snapshot, the truncation point and the origin parent.
        "SELECT format('user %s: the snapshot names %s at seq %s, not a committed transaction there', u.user_id, "
        "u.snapshot_transaction, u.snapshot_seq) FROM chunklog_users u WHERE u.snapshot_transaction IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM chunklog_transactions t WHERE t.user_id = u.user_id "
        "AND t.id = u.snapshot_transaction AND t.committed IS NOT NULL AND t.seq = u.snapshot_seq)",
        "SELECT format('user %s: history is truncated up to seq %s, not before a snapshot (at %s)', u.user_id, "
        "u.history_from, coalesce(u.snapshot_seq::text, 'none')) FROM chunklog_users u WHERE u.history_from > 0 "
        "AND (u.snapshot_seq IS NULL OR u.snapshot_seq <= u.history_from)",
        "SELECT format('user %s: the origin parent names version %s, not the committed transaction at seq 1', "
        "u.user_id, u.origin_version) FROM chunklog_users u WHERE u.origin_version IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM chunklog_transactions t WHERE t.user_id = u.user_id AND t.id = u.origin_version "
        "AND t.committed IS NOT NULL AND t.seq = 1)",
    };
}

}  // namespace

outcome<verify_report> verify_postgresql(const std::string& conninfo) {
    auto c = pg::connection::open(conninfo);
    if (!c) return c.error();
    auto& conn = **c;
    if (auto b = conn.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !b) return b.error();
    verify_report report;
    auto version = conn.run("SELECT version FROM chunklog_schema");
    if (!version) return version.error();
    if (version->rows() == 0) return make_error(errc::internal, "the database holds no chunklog schema");
    report.format = static_cast<std::uint64_t>(version->i64(0, 0));
    if (report.format > static_cast<std::uint64_t>(pg::schema_version))
        return make_error(errc::internal, "the chunklog schema is newer than this chunklogd's: run a newer one");
    for (const auto& sql : checks()) {
        auto found = conn.run(sql.c_str());
        if (!found) return found.error();
        for (int i = 0; i < found->rows(); ++i) {
            ++report.problem_count;
            if (report.problems.size() < verify_report::max_listed_problems) report.problems.push_back(found->text(i, 0));
        }
    }
    auto counts = conn.run("SELECT (SELECT count(*) FROM chunklog_users), (SELECT count(*) FROM chunklog_transactions), "
                           "(SELECT count(*) FROM chunklog_chunks), (SELECT coalesce(sum(size), 0)::bigint FROM "
                           "chunklog_chunks), (SELECT count(*) FROM chunklog_tokens)");
    if (!counts) return counts.error();
    report.users = static_cast<std::uint64_t>(counts->i64(0, 0));
    report.transactions = static_cast<std::uint64_t>(counts->i64(0, 1));
    report.chunks = static_cast<std::uint64_t>(counts->i64(0, 2));
    report.chunk_bytes = static_cast<std::uint64_t>(counts->i64(0, 3));
    report.tokens = static_cast<std::uint64_t>(counts->i64(0, 4));
    (void)conn.run("COMMIT");
    return report;
}

}  // namespace chunklog::storage
