// verify_store: one pass over each family in key order. The metadata and
// chunk families are walked side by side, one user's key range at a time
// (every key starts with the user's id), so memory holds one user's records;
// the accounts family is checked on its own at the end.
#include "storage/rocksdb/keys.hpp"
#include "storage/rocksdb/store_reader.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/maintenance.hpp>

#include <map>
#include <set>
#include <string_view>

namespace chunklog::storage {
namespace {

std::string short_id(const digest& id) { return id.to_string().substr(0, 16); }
std::string short_id(const uuid& id) { return id.to_string(); }

class problem_list {
public:
    explicit problem_list(verify_report& r) : r_(r) {}
    void add(std::string what) {
        ++r_.problem_count;
        if (r_.problems.size() < verify_report::max_listed_problems) r_.problems.push_back(std::move(what));
    }

private:
    verify_report& r_;
};

// What one user's key ranges hold, as read.
struct user_data {
    std::optional<head_state> head;
    keys::chunk_stats stats;
    std::map<digest, keys::chunk_meta> chunk_meta;
    std::map<digest, std::uint64_t> chunk_bytes;  // id -> stored length
    std::map<digest, std::int64_t> references;
    std::map<uuid, transaction_record> transactions;
    std::set<uuid> uncommitted;
    std::set<std::pair<uuid, uuid>> children;
    std::map<std::uint64_t, uuid> chain;
    std::optional<snapshot_record> snapshot;
    std::uint64_t history_from = 0;
    std::optional<keys::origin_record> origin;
};

class user_check {
public:
    user_check(const uuid& user, const user_data& u, problem_list& problems)
        : user_(user), u_(u), problems_(problems) {}

    void run() {
        chunks_against_counters();
        references_against_holders();
        auto committed = chain_against_parents();
        indexes_against_transactions(committed);
        origin_against_chain();
    }

private:
    void problem(const std::string& what) { problems_.add("user " + short_id(user_) + ": " + what); }

    void chunks_against_counters() {
        std::int64_t bytes = 0;
        for (const auto& [id, meta] : u_.chunk_meta) {
            bytes += static_cast<std::int64_t>(meta.size);
            auto stored = u_.chunk_bytes.find(id);
            if (stored == u_.chunk_bytes.end()) problem("chunk " + short_id(id) + " has a size record but no bytes");
            else if (stored->second != meta.size)
                problem("chunk " + short_id(id) + " holds " + std::to_string(stored->second) + " bytes, its record says " +
                        std::to_string(meta.size));
        }
        for (const auto& [id, size] : u_.chunk_bytes)
            if (!u_.chunk_meta.contains(id)) problem("chunk " + short_id(id) + " has bytes but no size record");
        if (u_.stats.count != static_cast<std::int64_t>(u_.chunk_meta.size()) || u_.stats.bytes != bytes)
            problem("counters say " + std::to_string(u_.stats.count) + " chunks, " + std::to_string(u_.stats.bytes) +
                    " bytes; stored: " + std::to_string(u_.chunk_meta.size()) + " chunks, " + std::to_string(bytes) +
                    " bytes");
    }

    void references_against_holders() {
        std::map<digest, std::int64_t> expected;
        auto count = [&](const std::vector<digest>& chunks, const std::string& holder) {
            for (const auto& c : std::set<digest>(chunks.begin(), chunks.end())) {
                ++expected[c];
                if (!u_.chunk_meta.contains(c)) problem(holder + " names missing chunk " + short_id(c));
            }
        };
        for (const auto& [id, t] : u_.transactions) count(t.chunks, "transaction " + short_id(id));
        if (u_.snapshot) count(u_.snapshot->chunks, "the snapshot");
        for (const auto& [c, n] : u_.references) {
            auto want = expected.contains(c) ? expected.at(c) : 0;
            if (n != want)
                problem("chunk " + short_id(c) + " has " + std::to_string(n) + " references, expected " +
                        std::to_string(want));
        }
        for (const auto& [c, n] : expected)
            if (!u_.references.contains(c))
                problem("chunk " + short_id(c) + " has no reference record, expected " + std::to_string(n));
    }

    // The chain is contiguous from history_from + 1 to HEAD, linked by
    // parents; returns the committed transactions.
    std::set<uuid> chain_against_parents() {
        auto head = u_.head.value_or(head_state{});
        std::set<uuid> committed;
        for (auto seq = u_.history_from + 1; seq <= head.seq; ++seq) {
            auto it = u_.chain.find(seq);
            if (it == u_.chain.end()) {
                problem("no chain entry at seq " + std::to_string(seq));
                continue;
            }
            committed.insert(it->second);
            auto t = u_.transactions.find(it->second);
            if (t == u_.transactions.end()) {
                problem("committed transaction " + short_id(it->second) + " (seq " + std::to_string(seq) + ") is missing");
                continue;
            }
            if (t->second.seq != seq)
                problem("chain entry " + std::to_string(seq) + " names a transaction of seq " + std::to_string(t->second.seq));
            auto previous = u_.chain.find(seq - 1);
            if (seq > u_.history_from + 1 && previous != u_.chain.end() && t->second.parent != previous->second)
                problem("chain broken at seq " + std::to_string(seq) + ": its parent is not the entry before it");
            if (seq == head.seq && it->second != head.head) problem("HEAD is not the last chain entry");
        }
        if (head.seq == 0 && !head.head.is_root()) problem("HEAD names a transaction at seq 0");
        for (const auto& [seq, id] : u_.chain)
            if (seq <= u_.history_from || seq > head.seq) problem("stray chain entry at seq " + std::to_string(seq));
        if (u_.history_from > 0 && (!u_.snapshot || u_.snapshot->seq <= u_.history_from))
            problem("history truncated up to seq " + std::to_string(u_.history_from) + " without a later snapshot");
        if (u_.snapshot) {
            auto at = u_.chain.find(u_.snapshot->seq);
            if (at == u_.chain.end() || at->second != u_.snapshot->transaction)
                problem("the snapshot's transaction " + short_id(u_.snapshot->transaction) + " is not committed at seq " +
                        std::to_string(u_.snapshot->seq));
        }
        return committed;
    }

    void indexes_against_transactions(const std::set<uuid>& committed) {
        for (const auto& [id, t] : u_.transactions) {
            bool is_committed = committed.contains(id);
            if (is_committed == u_.uncommitted.contains(id))
                problem("transaction " + short_id(id) +
                        (is_committed ? " is committed and" : " is not committed and not") + " in the uncommitted index");
            // The first kept transaction after a truncation keeps its parent link only.
            bool first_kept = is_committed && u_.history_from > 0 && t.seq == u_.history_from + 1;
            if (!t.parent.is_root() && !u_.transactions.contains(t.parent) && !first_kept)
                problem("transaction " + short_id(id) + " lost its parent " + short_id(t.parent));
            if (!first_kept && !u_.children.contains({t.parent, id}))
                problem("children index lacks " + short_id(t.parent) + " -> " + short_id(id));
        }
        for (const auto& [parent, child] : u_.children) {
            auto t = u_.transactions.find(child);
            if (t == u_.transactions.end() || t->second.parent != parent)
                problem("stray children index entry " + short_id(parent) + " -> " + short_id(child));
        }
        for (const auto& id : u_.uncommitted)
            if (!u_.transactions.contains(id)) problem("uncommitted index names missing transaction " + short_id(id));
    }

    // The origin parent record (protocol section 12) belongs to the first
    // version: the transaction at seq 1, a child of ROOT. Once that
    // transaction was truncated the record may remain from a GC pass of a
    // server that predates the record; readers ignore it then.
    void origin_against_chain() {
        if (!u_.origin) return;
        auto first = u_.chain.find(1);
        if (first == u_.chain.end() && u_.history_from >= 1) return;
        if (first == u_.chain.end() || first->second != u_.origin->version)
            problem("the origin parent record names " + short_id(u_.origin->version) +
                    ", which is not the committed transaction at seq 1");
        else if (u_.origin->parent.is_root())
            problem("the origin parent record names ROOT as origin");
    }

    const uuid& user_;
    const user_data& u_;
    problem_list& problems_;
};

// Reads one metadata record into the user's data; false when unreadable.
bool read_meta(std::string_view key, std::string_view value, user_data& u) {
    auto tag = keys::key_tag(key);
    auto rest = key.substr(uuid::size + 1);
    if (!tag) return false;
    switch (*tag) {
    case keys::tag::head: return (u.head = keys::decode_head(value)).has_value();
    case keys::tag::stats: u.stats = keys::decode_stats(value); return value.size() == 16;
    case keys::tag::chunk_size: {
        auto id = digest::from_bytes(rest);
        auto meta = keys::decode_chunk_meta(value);
        if (!id || !meta) return false;
        u.chunk_meta[*id] = *meta;
        return true;
    }
    case keys::tag::references: {
        auto id = digest::from_bytes(rest);
        if (!id || value.size() != 16) return false;
        u.references[*id] = keys::decode_references(value);
        return true;
    }
    case keys::tag::transaction: {
        auto id = uuid::from_bytes(rest);
        auto t = id ? keys::decode_transaction(*id, value) : std::nullopt;
        if (!t) return false;
        u.transactions[*id] = *t;
        return true;
    }
    case keys::tag::uncommitted: {
        auto id = uuid::from_bytes(rest);
        if (!id || !keys::decode_time(value)) return false;
        u.uncommitted.insert(*id);
        return true;
    }
    case keys::tag::child: {
        auto parent = rest.size() == 2 * uuid::size ? uuid::from_bytes(rest.substr(0, uuid::size)) : std::nullopt;
        auto child = parent ? uuid::from_bytes(rest.substr(uuid::size)) : std::nullopt;
        if (!child || !value.empty()) return false;
        u.children.insert({*parent, *child});
        return true;
    }
    case keys::tag::chain: {
        auto seq = keys::chain_seq(key);
        auto e = keys::decode_chain_entry(value);
        if (!seq || !e) return false;
        u.chain[*seq] = e->id;
        return true;
    }
    case keys::tag::snapshot: return (u.snapshot = keys::decode_snapshot(value)).has_value();
    case keys::tag::origin: return (u.origin = keys::decode_origin(value)).has_value();
    case keys::tag::history_from: {
        auto from = keys::decode_u64(value);
        u.history_from = from.value_or(0);
        return from.has_value();
    }
    }
    return false;
}

std::string_view user_prefix(const rocksdb::Iterator& it) {
    auto key = it.key().ToStringView();
    return key.size() >= uuid::size ? key.substr(0, uuid::size) : key;
}

class store_walk {
public:
    store_walk(store_reader& reader, verify_report& report)
        : reader_(reader), report_(report), problems_(report) {}

    outcome<void> run() {
        auto meta = reader_.scan(reader_.meta());
        auto chunks = reader_.scan(reader_.chunks());
        meta->SeekToFirst();
        chunks->SeekToFirst();
        while (meta->Valid() || chunks->Valid()) {
            std::string user_bytes(!chunks->Valid() || (meta->Valid() && user_prefix(*meta) < user_prefix(*chunks))
                                       ? user_prefix(*meta)
                                       : user_prefix(*chunks));
            auto user = uuid::from_bytes(user_bytes);
            user_data u;
            read_user_meta(*meta, user_bytes, u);
            read_user_chunks(*chunks, user_bytes, u);
            if (!user) {
                problems_.add("keys too short to name a user");
                continue;
            }
            ++report_.users;
            report_.transactions += u.transactions.size();
            user_check(*user, u, problems_).run();
        }
        if (!meta->status().ok()) return make_error(errc::internal, "reading the metadata: " + meta->status().ToString());
        if (!chunks->status().ok()) return make_error(errc::internal, "reading the chunks: " + chunks->status().ToString());
        return {};
    }

private:
    void read_user_meta(rocksdb::Iterator& it, std::string_view user, user_data& u) {
        for (; it.Valid() && user_prefix(it) == user; it.Next())
            if (!read_meta(it.key().ToStringView(), it.value().ToStringView(), u))
                problems_.add("user " + to_hex(user) + ": unreadable metadata record with tag '" +
                              std::string(1, it.key().size() > uuid::size ? it.key()[uuid::size] : '?') + "'");
    }

    void read_user_chunks(rocksdb::Iterator& it, std::string_view user, user_data& u) {
        for (; it.Valid() && user_prefix(it) == user; it.Next()) {
            auto key = it.key().ToStringView();
            auto id = key.size() > uuid::size ? digest::from_bytes(key.substr(uuid::size)) : std::nullopt;
            if (!id) {
                problems_.add("user " + to_hex(user) + ": a chunk key that is not a SHA-256");
                continue;
            }
            auto owner = uuid::from_bytes(user);
            auto bytes = owner ? reader_.files().bytes_of(*owner, *id, it.value().ToStringView(), buffer_)
                               : outcome<std::string_view>(it.value().ToStringView());
            if (!bytes) {
                problems_.add("user " + to_hex(user) + ": chunk " + short_id(*id) + ": " + bytes.error().message);
                continue;
            }
            ++report_.chunks;
            report_.chunk_bytes += bytes->size();
            u.chunk_bytes[*id] = bytes->size();
            if (auto actual = sha256_of(*bytes); actual != *id)
                problems_.add("user " + to_hex(user) + ": chunk " + short_id(*id) + " is corrupt: its bytes hash to " +
                              short_id(actual));
        }
    }

    static std::string to_hex(std::string_view user) {
        auto id = uuid::from_bytes(user);
        return id ? short_id(*id) : "(malformed)";
    }

    store_reader& reader_;
    std::string buffer_;  // a chunk read from its file
    verify_report& report_;
    problem_list problems_;
};

// Tokens and their per-user index name each other; quotas decode.
void check_accounts(store_reader& reader, verify_report& report) {
    problem_list problems(report);
    std::map<digest, token_record> tokens;
    std::map<digest, std::pair<uuid, std::string>> indexed;  // secret hash -> (user, token id) of its index entry
    auto it = reader.scan(reader.accounts());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto key = it->key().ToStringView();
        auto value = it->value().ToStringView();
        if (key.empty()) continue;
        switch (static_cast<keys::account_tag>(key[0])) {
        case keys::account_tag::token: {
            auto hash = digest::from_bytes(key.substr(1));
            auto t = keys::decode_token(value);
            if (!hash || !t) problems.add("an unreadable token record");
            else tokens[*hash] = *t;
            break;
        }
        case keys::account_tag::user: {
            auto user = keys::account_key_user(key);
            if (!user) {
                problems.add("an unreadable per-user accounts key");
            } else if (keys::token_index_number(key)) {
                auto e = keys::decode_token_index(value);
                if (!e) problems.add("user " + short_id(*user) + ": an unreadable token index entry");
                else if (!indexed.emplace(e->secret_hash, std::pair{*user, e->id}).second)
                    problems.add("user " + short_id(*user) + ": token " + e->id + " is indexed twice");
            } else if (!keys::decode_quota(value)) {
                problems.add("user " + short_id(*user) + ": an unreadable quota");
            }
            break;
        }
        case keys::account_tag::format_version: break;
        case keys::account_tag::upgrade_cursor:
            problems.add("a store format upgrade was cut short: start chunklogd on the directory to finish it");
            break;
        default: problems.add("an unknown accounts key"); break;
        }
    }
    report.tokens = tokens.size();
    for (const auto& [hash, t] : tokens) {
        auto e = indexed.find(hash);
        if (e == indexed.end() || e->second.first != t.user || e->second.second != t.id)
            problems.add("user " + short_id(t.user) + ": token " + t.id + " is missing from the user's token index");
    }
    for (const auto& [hash, e] : indexed)
        if (!tokens.contains(hash))
            problems.add("user " + short_id(e.first) + ": the token index names token " + e.second + ", which is gone");
}

}  // namespace

outcome<verify_report> verify_store(const std::filesystem::path& dir) {
    auto reader = store_reader::open(dir);
    if (!reader) return reader.error();
    verify_report report;
    problem_list problems(report);
    auto format = (*reader)->format();
    if (!format) return format.error();
    report.format = format->value_or(1);
    if (report.format != keys::current_format || (*reader)->unknown_families() > 0) {
        problems.add("the store format is " + std::to_string(report.format) + "; this verifier reads format " +
                     std::to_string(keys::current_format) +
                     (report.format < keys::current_format ? " (start chunklogd on it once to upgrade it)" : ""));
        return report;
    }
    if (auto walked = store_walk(**reader, report).run(); !walked) return walked.error();
    check_accounts(**reader, report);
    return report;
}

}  // namespace chunklog::storage
