// migrate_to_postgresql: moves the users of a RocksDB store into a
// PostgreSQL store. The source is read through one store_reader (one state
// of it, also while a server runs on it), user by user in key order (the
// users of the metadata and accounts families, as rocksdb list_users lists
// them). Each user is written in one database transaction, which also
// records it in chunklog_migrated: a run cut short leaves whole users only,
// and the next run skips them. A user's metadata is held in memory; its
// chunk bytes are streamed, one chunk at a time. The rows follow the
// invariants storage/postgresql keeps (see schema.cpp, writes.cpp): a
// chunk's refs count the transactions naming it (once each) plus the
// snapshot, the user's counters count its chunks, `committed` is the commit
// time of a transaction on the chain. The end compares every user's counts
// and chain between source and destination and runs verify_postgresql.
// Blocking; safe from any thread; one run per destination at a time is the
// supported use (concurrent runs serialize per user, and never write a user twice).
#include "storage/postgresql/pg.hpp"
#include "storage/postgresql/schema.hpp"
#include "storage/postgresql/store_impl.hpp"
#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/store_reader.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/maintenance.hpp>

#include <map>
#include <set>

namespace chunklog::storage {
namespace {

using pg::params;

constexpr const char* migrated_table =
    "CREATE TABLE IF NOT EXISTS chunklog_migrated (user_id uuid PRIMARY KEY, chain_digest bytea NOT NULL, "
    "transactions bigint NOT NULL, chunks bigint NOT NULL)";

// The seed of the per-user advisory lock that serializes migrations of one
// user (accounts.cpp's token lock hashes the user with seed 7).
constexpr std::int64_t migrate_lock_seed = 0x63686b6c'00000003;

error user_error(const uuid& user, const std::string& what) {
    return make_error(errc::internal, "user " + user.to_string() + ": " + what);
}

error read_error(const rocksdb::Status& s) {
    return make_error(errc::internal, "cannot read the source store: " + s.ToString());
}

bool starts_with(const rocksdb::Slice& key, std::string_view prefix) {
    return key.ToStringView().starts_with(prefix);
}

outcome<void> check_format(store_reader& reader) {
    auto recorded = reader.format();
    if (!recorded) return recorded.error();
    auto format = recorded->value_or(1);
    if (format > keys::current_format || reader.unknown_families() > 0)
        return make_error(errc::conflict, "the source store is of format " + std::to_string(format) +
                                              ", newer than this chunklogd's (" + std::to_string(keys::current_format) +
                                              "): use a newer chunklogd");
    if (format < keys::current_format)
        return make_error(errc::conflict, "the source store is of format " + std::to_string(format) +
                                              ": start chunklogd on it once to upgrade it, then migrate");
    return {};
}

// The users of the source in id order: those with metadata (a chunk has its
// size record there) and those with tokens or a quota.
class user_list {
public:
    explicit user_list(store_reader& reader) : meta_(reader.scan(reader.meta())), accounts_(reader.scan(reader.accounts())) {}

    // The next user; nullopt after the last.
    outcome<std::optional<uuid>> next() {
        if (!from_) return std::optional<uuid>{};
        auto a = first_from(*meta_, "");
        if (!a) return a.error();
        auto b = first_from(*accounts_, keys::account_users_prefix());
        if (!b) return b.error();
        if (!*a && !*b) {
            from_.reset();
            return std::optional<uuid>{};
        }
        auto user = !*a ? **b : !*b ? **a : std::min(**a, **b);
        from_ = keys::next_user(user);
        return std::optional<uuid>{user};
    }

private:
    outcome<std::optional<uuid>> first_from(rocksdb::Iterator& it, std::string_view prefix) {
        auto target = std::string(prefix) + std::string(from_->raw());
        it.Seek(target);
        if (!it.status().ok()) return read_error(it.status());
        if (!it.Valid() || !starts_with(it.key(), prefix)) return std::optional<uuid>{};
        return uuid::from_bytes(it.key().ToStringView().substr(prefix.size(), uuid::size));
    }

    std::unique_ptr<rocksdb::Iterator> meta_, accounts_;
    std::optional<uuid> from_ = uuid{};
};

// One user's metadata, as the source holds it.
struct source_user {
    bool has_data = false;  // any metadata: the user gets a chunklog_users row
    head_state head;
    std::uint64_t history_from = 0;
    std::map<digest, keys::chunk_meta> chunks;
    std::map<uuid, transaction_record> transactions;
    std::map<uuid, std::int64_t> uncommitted;  // id -> stored
    std::map<std::uint64_t, keys::chain_entry> chain;
    std::optional<snapshot_record> snapshot;
    std::optional<keys::origin_record> origin;
};

// A token of the user, as its index and its record name it.
struct source_token {
    std::uint64_t number = 0;
    digest secret_hash;
    token_record record;
};

// The SHA-256 over the committed ids in seq order.
class chain_hash {
public:
    void add(const uuid& id) { hasher_.update(id.raw()); }
    digest finish() { return hasher_.finish(); }

private:
    sha256_hasher hasher_;
};

// Reads one metadata record into `u`; false when it does not decode.
bool read_meta(std::string_view key, std::string_view value, source_user& u) {
    auto tag = keys::key_tag(key);
    if (!tag) return false;
    auto rest = key.substr(uuid::size + 1);
    switch (*tag) {
    case keys::tag::head: {
        auto h = keys::decode_head(value);
        if (h) u.head = *h;
        return h.has_value();
    }
    case keys::tag::chunk_size: {
        auto id = digest::from_bytes(rest);
        auto meta = keys::decode_chunk_meta(value);
        if (id && meta) u.chunks[*id] = *meta;
        return id && meta;
    }
    case keys::tag::transaction: {
        auto id = uuid::from_bytes(rest);
        auto t = id ? keys::decode_transaction(*id, value) : std::nullopt;
        if (t) u.transactions[*id] = std::move(*t);
        return t.has_value();
    }
    case keys::tag::uncommitted: {
        auto id = uuid::from_bytes(rest);
        auto stored = keys::decode_time(value);
        if (id && stored) u.uncommitted[*id] = *stored;
        return id && stored;
    }
    case keys::tag::chain: {
        auto seq = keys::chain_seq(key);
        auto e = keys::decode_chain_entry(value);
        if (seq && e) u.chain[*seq] = *e;
        return seq && e;
    }
    case keys::tag::snapshot: return (u.snapshot = keys::decode_snapshot(value)).has_value();
    case keys::tag::origin: return (u.origin = keys::decode_origin(value)).has_value();
    case keys::tag::history_from: {
        auto from = keys::decode_u64(value);
        u.history_from = from.value_or(0);
        return from.has_value();
    }
    case keys::tag::stats:       // recounted from the chunks
    case keys::tag::references:  // recounted from the holders
    case keys::tag::child:       // an index PostgreSQL keeps itself
        return true;
    }
    return false;
}

// Counts that must agree between the source and the destination.
struct user_counts {
    std::int64_t committed = 0;
    std::int64_t transactions = 0;
    std::int64_t chunks = 0;
    std::int64_t bytes = 0;
    std::int64_t tokens = 0;
    digest chain;
};

// The source's view of one user at a time, over long-lived iterators.
class source {
public:
    explicit source(store_reader& reader)
        : reader_(reader), meta_(reader.scan(reader.meta())), chunks_(reader.scan(reader.chunks())),
          accounts_(reader.scan(reader.accounts())) {}

    outcome<source_user> read_user(const uuid& user) {
        source_user u;
        for (meta_->Seek(keys::user_begin(user)); meta_->Valid() && starts_with(meta_->key(), user.raw()); meta_->Next()) {
            u.has_data = true;
            auto key = meta_->key().ToStringView();
            if (!read_meta(key, meta_->value().ToStringView(), u))
                return user_error(user, std::string("unreadable metadata record with tag '") +
                                            (key.size() > uuid::size ? key[uuid::size] : '?') +
                                            "': run chunklogd verify on the source");
        }
        if (!meta_->status().ok()) return read_error(meta_->status());
        return u;
    }

    // Calls `fn(id, bytes)` for each chunk of the user, in id order.
    template <typename F>
    outcome<void> for_each_chunk(const uuid& user, F&& fn) {
        for (chunks_->Seek(keys::user_begin(user)); chunks_->Valid() && starts_with(chunks_->key(), user.raw());
             chunks_->Next()) {
            auto id = digest::from_bytes(chunks_->key().ToStringView().substr(uuid::size));
            if (!id) return user_error(user, "a chunk key that is not a SHA-256: run chunklogd verify on the source");
            auto bytes = reader_.files().bytes_of(user, *id, chunks_->value().ToStringView(), buffer_);
            if (!bytes) return user_error(user, bytes.error().message);
            if (auto done = fn(*id, *bytes); !done) return done;
        }
        if (!chunks_->status().ok()) return read_error(chunks_->status());
        return {};
    }

    outcome<std::vector<source_token>> tokens(const uuid& user) {
        std::vector<source_token> out;
        auto prefix = keys::token_index_prefix(user);
        for (accounts_->Seek(prefix); accounts_->Valid() && starts_with(accounts_->key(), prefix); accounts_->Next()) {
            auto number = keys::token_index_number(accounts_->key().ToStringView());
            auto entry = keys::decode_token_index(accounts_->value().ToStringView());
            if (!number || !entry) return user_error(user, "an unreadable token index entry");
            out.push_back({*number, entry->secret_hash, {}});
        }
        if (!accounts_->status().ok()) return read_error(accounts_->status());
        for (auto& t : out) {
            std::string value;
            auto s = reader_.db().Get(rocksdb::ReadOptions{}, reader_.accounts(), keys::token(t.secret_hash), &value);
            if (s.IsNotFound()) return user_error(user, "the token index names a token that is gone");
            if (!s.ok()) return read_error(s);
            auto record = keys::decode_token(value);
            if (!record || record->user != user) return user_error(user, "an unreadable token record");
            t.record = std::move(*record);
        }
        return out;
    }

    outcome<std::optional<std::uint64_t>> quota(const uuid& user) {
        std::string value;
        auto s = reader_.db().Get(rocksdb::ReadOptions{}, reader_.accounts(), keys::quota(user), &value);
        if (s.IsNotFound()) return std::optional<std::uint64_t>{};
        if (!s.ok()) return read_error(s);
        auto bytes = keys::decode_quota(value);
        if (!bytes) return user_error(user, "an unreadable quota");
        return std::optional<std::uint64_t>{*bytes};
    }

    // The user's counts read straight from the keys (not through read_user).
    outcome<user_counts> counts(const uuid& user) {
        user_counts c;
        chain_hash chain;
        for (meta_->Seek(keys::user_begin(user)); meta_->Valid() && starts_with(meta_->key(), user.raw()); meta_->Next()) {
            auto tag = keys::key_tag(meta_->key().ToStringView());
            if (tag == keys::tag::transaction) ++c.transactions;
            if (tag != keys::tag::chain) continue;
            auto e = keys::decode_chain_entry(meta_->value().ToStringView());
            if (!e) return user_error(user, "an unreadable chain entry");
            ++c.committed;
            chain.add(e->id);
        }
        if (!meta_->status().ok()) return read_error(meta_->status());
        c.chain = chain.finish();
        auto chunks = for_each_chunk(user, [&](const digest&, std::string_view bytes) -> outcome<void> {
            ++c.chunks;
            c.bytes += static_cast<std::int64_t>(bytes.size());
            return {};
        });
        if (!chunks) return chunks.error();
        auto prefix = keys::token_index_prefix(user);
        for (accounts_->Seek(prefix); accounts_->Valid() && starts_with(accounts_->key(), prefix); accounts_->Next())
            ++c.tokens;
        if (!accounts_->status().ok()) return read_error(accounts_->status());
        return c;
    }

private:
    store_reader& reader_;
    std::unique_ptr<rocksdb::Iterator> meta_, chunks_, accounts_;
    std::string buffer_;  // a chunk read from its file
};

// Each chunk's references: the transactions naming it, once each, and the snapshot.
std::map<digest, std::int64_t> references_of(const source_user& u) {
    std::map<digest, std::int64_t> refs;
    auto count = [&](const std::vector<digest>& chunks) {
        for (const auto& c : std::set<digest>(chunks.begin(), chunks.end())) ++refs[c];
    };
    for (const auto& [id, t] : u.transactions) count(t.chunks);
    if (u.snapshot) count(u.snapshot->chunks);
    return refs;
}

// What one user's migration wrote.
struct user_written {
    std::int64_t transactions = 0;
    std::int64_t chunks = 0;
    std::int64_t bytes = 0;
    std::int64_t tokens = 0;
};

// Writes one user into the destination, inside the caller's transaction.
class user_writer {
public:
    user_writer(source& from, pg::connection& to, const uuid& user) : from_(from), to_(to), user_(user) {}

    // nullopt when an earlier run migrated the user.
    outcome<std::optional<user_written>> run() {
        using result = std::optional<user_written>;
        auto lock = to_.run("SELECT pg_advisory_xact_lock(hashtextextended($1::text, $2))",
                            params().add(user_).add(migrate_lock_seed));
        if (!lock) return lock.error();
        auto done = to_.run("SELECT 1 FROM chunklog_migrated WHERE user_id = $1", params().add(user_));
        if (!done) return done.error();
        if (done->rows() != 0) return result{};
        if (auto free = refuse_if_in_use(); !free) return free.error();
        auto u = from_.read_user(user_);
        if (!u) return u.error();
        if (auto w = write_transactions(*u); !w) return w.error();
        if (auto w = write_chunks(*u); !w) return w.error();
        if (auto w = write_user_row(*u); !w) return w.error();
        if (auto w = write_accounts(); !w) return w.error();
        if (auto w = record(*u); !w) return w.error();
        return result{written_};
    }

private:
    outcome<void> refuse_if_in_use() {
        auto r = to_.run("SELECT EXISTS (SELECT 1 FROM chunklog_users WHERE user_id = $1) "
                         "OR EXISTS (SELECT 1 FROM chunklog_transactions WHERE user_id = $1) "
                         "OR EXISTS (SELECT 1 FROM chunklog_chunks WHERE user_id = $1) "
                         "OR EXISTS (SELECT 1 FROM chunklog_tokens WHERE user_id = $1) "
                         "OR EXISTS (SELECT 1 FROM chunklog_quotas WHERE user_id = $1)",
                         params().add(user_));
        if (!r) return r.error();
        if (r->boolean(0, 0))
            return make_error(errc::conflict, "user " + user_.to_string() +
                                                  " already has data in the destination, which no migration wrote: "
                                                  "the destination is in use; migrate into an unused database");
        return {};
    }

    outcome<void> write_transactions(const source_user& u) {
        std::map<uuid, std::int64_t> committed;
        for (const auto& [seq, e] : u.chain) committed[e.id] = e.committed;
        for (const auto& [id, t] : u.transactions) {
            std::optional<std::int64_t> commit_time;
            std::int64_t stored = 0;
            if (auto c = committed.find(id); c != committed.end()) {
                commit_time = c->second;
                stored = c->second;  // RocksDB forgets the stored time on commit
            } else if (auto p = u.uncommitted.find(id); p != u.uncommitted.end()) {
                stored = p->second;
            } else {
                return user_error(user_, "transaction " + id.to_string() +
                                             " is neither on the chain nor uncommitted: run chunklogd verify on the source");
            }
            auto r = to_.run("INSERT INTO chunklog_transactions (user_id, id, parent, seq, chunks, stored, committed) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                             params().add(user_).add(id).add(t.parent).add(t.seq).add_bytes(pg::join_ids(t.chunks))
                                 .add(stored).add(commit_time));
            if (!r) return r.error();
            ++written_.transactions;
        }
        return {};
    }

    outcome<void> write_chunks(const source_user& u) {
        auto refs = references_of(u);
        return from_.for_each_chunk(user_, [&](const digest& id, std::string_view bytes) -> outcome<void> {
            auto meta = u.chunks.find(id);
            if (meta == u.chunks.end())
                return user_error(user_, "chunk " + id.to_string() + " has bytes but no size record");
            auto named = refs.find(id);
            auto r = to_.run("INSERT INTO chunklog_chunks (user_id, id, size, stored, refs, bytes) "
                             "VALUES ($1, $2, $3, $4, $5, $6)",
                             params().add(user_).add(id).add(static_cast<std::int64_t>(bytes.size()))
                                 .add(meta->second.stored).add(named == refs.end() ? 0 : named->second).add_bytes(bytes));
            if (!r) return r.error();
            ++written_.chunks;
            written_.bytes += static_cast<std::int64_t>(bytes.size());
            return {};
        });
    }

    // The origin record counts only while its version is the chain's entry at seq 1.
    static std::optional<keys::origin_record> live_origin(const source_user& u) {
        auto first = u.chain.find(1);
        if (!u.origin || first == u.chain.end() || first->second.id != u.origin->version) return std::nullopt;
        return u.origin;
    }

    outcome<void> write_user_row(const source_user& u) {
        if (!u.has_data) return {};
        params p;
        p.add(user_).add(u.head.head).add(u.head.seq).add(u.history_from).add(written_.chunks).add(written_.bytes);
        if (auto o = live_origin(u)) p.add(o->parent).add(o->version);
        else p.add_null().add_null();
        if (const auto& s = u.snapshot) p.add(s->transaction).add(s->seq).add(s->created).add_bytes(pg::join_ids(s->chunks));
        else p.add_null().add_null().add_null().add_null();
        auto r = to_.run("INSERT INTO chunklog_users (user_id, head, head_seq, history_from, chunk_count, chunk_bytes, "
                         "origin_parent, origin_version, snapshot_transaction, snapshot_seq, snapshot_created, "
                         "snapshot_chunks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                         p);
        if (!r) return r.error();
        return {};
    }

    outcome<void> write_accounts() {
        auto tokens = from_.tokens(user_);
        if (!tokens) return tokens.error();
        for (const auto& t : *tokens) {
            const auto& k = t.record;
            auto r = to_.run("INSERT INTO chunklog_tokens (secret_hash, user_id, id, number, scope, label, created, "
                             "expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                             params().add(t.secret_hash).add(user_).add_text(k.id).add(t.number)
                                 .add(static_cast<std::int64_t>(k.scope)).add_text(k.label).add(k.created).add(k.expires));
            if (!r) return r.error();
            ++written_.tokens;
        }
        auto quota = from_.quota(user_);
        if (!quota) return quota.error();
        if (!*quota) return {};
        auto r = to_.run("INSERT INTO chunklog_quotas (user_id, bytes) VALUES ($1, $2)", params().add(user_).add(**quota));
        if (!r) return r.error();
        return {};
    }

    outcome<void> record(const source_user& u) {
        chain_hash chain;
        for (const auto& [seq, e] : u.chain) chain.add(e.id);
        auto r = to_.run("INSERT INTO chunklog_migrated (user_id, chain_digest, transactions, chunks) "
                         "VALUES ($1, $2, $3, $4)",
                         params().add(user_).add(chain.finish()).add(written_.transactions).add(written_.chunks));
        if (!r) return r.error();
        return {};
    }

    source& from_;
    pg::connection& to_;
    const uuid& user_;
    user_written written_;
};

// Runs `body` in one database transaction: committed when it succeeds, rolled back when not.
template <typename F>
auto in_transaction(pg::connection& c, const char* begin, F&& body) -> decltype(body()) {
    if (auto b = c.run(begin); !b) return b.error();
    auto done = body();
    if (!done) {
        (void)c.run("ROLLBACK");
        return done;
    }
    if (auto e = c.run("COMMIT"); !e) return e.error();
    return done;
}

class problem_list {
public:
    explicit problem_list(migrate_report& r) : r_(r) {}
    void add(std::string what) {
        ++r_.problem_count;
        if (r_.problems.size() < migrate_report::max_listed_problems) r_.problems.push_back(std::move(what));
    }
    // Problems found but not listed by whoever found them.
    void count_unlisted(std::uint64_t n) { r_.problem_count += n; }

private:
    migrate_report& r_;
};

outcome<void> migrate_users(store_reader& reader, pg::connection& to, migrate_report& report,
                            const std::function<void(std::string_view)>& progress) {
    source from(reader);
    user_list users(reader);
    for (;;) {
        auto user = users.next();
        if (!user) return user.error();
        if (!*user) return {};
        const auto& id = **user;
        auto written = in_transaction(to, "BEGIN", [&] { return user_writer(from, to, id).run(); });
        if (!written) return written.error();
        if (!*written) {
            ++report.users_skipped;
            if (progress) progress("skipped user " + id.to_string() + ": already migrated");
            continue;
        }
        const auto& w = **written;
        ++report.users_migrated;
        report.transactions += static_cast<std::uint64_t>(w.transactions);
        report.chunks += static_cast<std::uint64_t>(w.chunks);
        report.chunk_bytes += static_cast<std::uint64_t>(w.bytes);
        report.tokens += static_cast<std::uint64_t>(w.tokens);
        if (progress)
            progress("migrated user " + id.to_string() + ": " + std::to_string(w.transactions) + " transactions, " +
                     std::to_string(w.chunks) + " chunks");
    }
}

outcome<user_counts> destination_counts(pg::connection& c, const uuid& user) {
    auto r = c.run("SELECT (SELECT count(*) FILTER (WHERE committed IS NOT NULL) FROM chunklog_transactions "
                   "WHERE user_id = $1), (SELECT count(*) FROM chunklog_transactions WHERE user_id = $1), "
                   "(SELECT count(*) FROM chunklog_chunks WHERE user_id = $1), "
                   "(SELECT coalesce(sum(length(bytes)), 0)::bigint FROM chunklog_chunks WHERE user_id = $1), "
                   "(SELECT count(*) FROM chunklog_tokens WHERE user_id = $1), "
                   "(SELECT sha256(coalesce(string_agg(uuid_send(id), ''::bytea ORDER BY seq), ''::bytea)) "
                   "FROM chunklog_transactions WHERE user_id = $1 AND committed IS NOT NULL)",
                   params().add(user));
    if (!r) return r.error();
    auto chain = r->hash(0, 5);
    if (!chain) return chain.error();
    return user_counts{r->i64(0, 0), r->i64(0, 1), r->i64(0, 2), r->i64(0, 3), r->i64(0, 4), *chain};
}

void compare(const uuid& user, const user_counts& src, const user_counts& dst, problem_list& problems) {
    auto check = [&](const char* what, std::int64_t a, std::int64_t b) {
        if (a != b)
            problems.add("user " + user.to_string() + ": the source has " + std::to_string(a) + " " + what +
                         ", the destination " + std::to_string(b));
    };
    check("committed transactions", src.committed, dst.committed);
    check("transactions", src.transactions, dst.transactions);
    check("chunks", src.chunks, dst.chunks);
    check("chunk bytes", src.bytes, dst.bytes);
    check("tokens", src.tokens, dst.tokens);
    if (src.committed == dst.committed && src.chain != dst.chain)
        problems.add("user " + user.to_string() + ": the committed chains differ");
}

// Every user's counts and chain, source against destination.
outcome<void> compare_users(store_reader& reader, pg::connection& to, problem_list& problems) {
    return in_transaction(to, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&]() -> outcome<void> {
        source from(reader);
        user_list users(reader);
        for (;;) {
            auto user = users.next();
            if (!user) return user.error();
            if (!*user) return {};
            auto src = from.counts(**user);
            if (!src) return src.error();
            auto dst = destination_counts(to, **user);
            if (!dst) return dst.error();
            compare(**user, *src, *dst, problems);
        }
    });
}

outcome<void> verify_destination(const std::string& conninfo, problem_list& problems) {
    auto verified = verify_postgresql(conninfo);
    if (!verified) return verified.error();
    for (const auto& p : verified->problems) problems.add("the destination: " + p);
    problems.count_unlisted(verified->problem_count - verified->problems.size());
    return {};
}

}  // namespace

outcome<migrate_report> migrate_to_postgresql(const std::filesystem::path& from, const std::string& conninfo,
                                              const std::function<void(std::string_view)>& progress) {
    auto reader = store_reader::open(from);
    if (!reader) return reader.error();
    if (auto f = check_format(**reader); !f) return f.error();
    auto to = pg::connection::open(conninfo);
    if (!to) return to.error();
    auto& conn = **to;
    if (auto s = pg::prepare_schema(conn, progress); !s) return s.error();
    if (auto t = conn.run(migrated_table); !t) return t.error();
    migrate_report report;
    if (auto m = migrate_users(**reader, conn, report, progress); !m) return m.error();
    problem_list problems(report);
    if (auto c = compare_users(**reader, conn, problems); !c) return c.error();
    if (auto v = verify_destination(conninfo, problems); !v) return v.error();
    return report;
}

}  // namespace chunklog::storage
