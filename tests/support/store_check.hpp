// Reads a closed store's directory with raw RocksDB calls and lists every
// broken invariant of the store format (storage/keys.hpp) that garbage
// collection and history truncation must keep: counters against what is
// stored, chunk references against the transactions and the snapshot that
// name them, the uncommitted index against the chain, the chain and the
// children index against the parent links, and no reference to a missing
// chunk or parent. For tests; single-threaded.
#pragma once

#include "storage/keys.hpp"

#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace chunklog::test {

namespace store_check_detail {

namespace keys = storage::keys;

// The store's merge operator for 'S' and 'R' values, as the format defines it.
class pair_add final : public rocksdb::AssociativeMergeOperator {
public:
    bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger*) const override {
        auto sum = existing ? keys::decode_stats(existing->ToStringView()) : keys::chunk_stats{};
        auto add = keys::decode_stats(value.ToStringView());
        *new_value = keys::encode_stats({sum.count + add.count, sum.bytes + add.bytes});
        return true;
    }
    const char* Name() const override { return "chunklog.stats_add"; }
};

struct user_data {
    std::optional<head_state> head;
    keys::chunk_stats stats;
    std::map<digest, keys::chunk_meta> chunk_meta;
    std::set<digest> chunk_bytes;
    std::map<digest, std::int64_t> references;
    std::map<uuid, transaction_record> transactions;
    std::set<uuid> uncommitted;
    std::set<std::pair<uuid, uuid>> children;
    std::map<std::uint64_t, uuid> chain;
    std::optional<storage::snapshot_record> snapshot;
    std::uint64_t history_from = 0;
};

inline std::string hex(const uuid& id) { return id.to_string(); }
inline std::string hex(const digest& id) { return id.to_string().substr(0, 12); }

inline void check_user(const uuid& user, const user_data& u, std::vector<std::string>& problems) {
    auto problem = [&](const std::string& what) { problems.push_back("user " + hex(user) + ": " + what); };
    // Counters against the chunk records; records against the bytes.
    std::int64_t bytes = 0;
    for (const auto& [id, meta] : u.chunk_meta) {
        bytes += static_cast<std::int64_t>(meta.size);
        if (!u.chunk_bytes.contains(id)) problem("chunk " + hex(id) + " has a size record but no bytes");
    }
    for (const auto& id : u.chunk_bytes)
        if (!u.chunk_meta.contains(id)) problem("chunk " + hex(id) + " has bytes but no size record");
    if (u.stats.count != static_cast<std::int64_t>(u.chunk_meta.size()) || u.stats.bytes != bytes)
        problem("counters say " + std::to_string(u.stats.count) + " chunks, " + std::to_string(u.stats.bytes) +
                " bytes; stored: " + std::to_string(u.chunk_meta.size()) + " chunks, " + std::to_string(bytes) + " bytes");
    // References against the transactions and the snapshot.
    std::map<digest, std::int64_t> expected;
    for (const auto& [id, t] : u.transactions) {
        std::set<digest> distinct(t.chunks.begin(), t.chunks.end());
        for (const auto& c : distinct) {
            ++expected[c];
            if (!u.chunk_meta.contains(c)) problem("transaction " + hex(id) + " names missing chunk " + hex(c));
        }
    }
    if (u.snapshot) {
        std::set<digest> distinct(u.snapshot->chunks.begin(), u.snapshot->chunks.end());
        for (const auto& c : distinct) {
            ++expected[c];
            if (!u.chunk_meta.contains(c)) problem("the snapshot names missing chunk " + hex(c));
        }
    }
    for (const auto& [c, n] : u.references)
        if (n != (expected.contains(c) ? expected.at(c) : 0))
            problem("chunk " + hex(c) + " has " + std::to_string(n) + " references, expected " +
                    std::to_string(expected.contains(c) ? expected.at(c) : 0));
    for (const auto& [c, n] : expected)
        if (!u.references.contains(c)) problem("chunk " + hex(c) + " has no reference record, expected " + std::to_string(n));
    // The chain: contiguous from history_from + 1 to HEAD, linked by parents.
    auto head = u.head.value_or(head_state{});
    std::set<uuid> committed;
    for (auto seq = u.history_from + 1; seq <= head.seq; ++seq) {
        auto it = u.chain.find(seq);
        if (it == u.chain.end()) {
            problem("no chain entry at seq " + std::to_string(seq));
            continue;
        }
        committed.insert(it->second);
        auto t = u.transactions.find(it->second);
        if (t == u.transactions.end()) {
            problem("committed transaction " + hex(it->second) + " is missing");
            continue;
        }
        if (t->second.seq != seq) problem("chain entry " + std::to_string(seq) + " names a transaction of another seq");
        if (seq > u.history_from + 1 && u.chain.contains(seq - 1) && t->second.parent != u.chain.at(seq - 1))
            problem("chain broken at seq " + std::to_string(seq));
        if (seq == head.seq && it->second != head.head) problem("HEAD is not the last chain entry");
    }
    for (const auto& [seq, id] : u.chain)
        if (seq <= u.history_from || seq > head.seq) problem("stray chain entry at seq " + std::to_string(seq));
    if (u.history_from > 0 && (!u.snapshot || u.snapshot->seq <= u.history_from))
        problem("history truncated up to the snapshot or without one");
    // Parents, children and the uncommitted index.
    for (const auto& [id, t] : u.transactions) {
        bool is_committed = committed.contains(id);
        if (is_committed == u.uncommitted.contains(id))
            problem("transaction " + hex(id) + (is_committed ? " is committed and" : " is not committed and not") +
                    " in the uncommitted index");
        bool first_kept = is_committed && t.seq == u.history_from + 1 && u.history_from > 0;
        if (!t.parent.is_root() && !u.transactions.contains(t.parent) && !first_kept)
            problem("transaction " + hex(id) + " lost its parent " + hex(t.parent));
        if (!first_kept && !u.children.contains({t.parent, id}))
            problem("children index lacks " + hex(t.parent) + " -> " + hex(id));
    }
    for (const auto& [parent, child] : u.children) {
        auto t = u.transactions.find(child);
        if (t == u.transactions.end() || t->second.parent != parent)
            problem("stray children index entry " + hex(parent) + " -> " + hex(child));
    }
    for (const auto& id : u.uncommitted)
        if (!u.transactions.contains(id)) problem("uncommitted index names missing transaction " + hex(id));
    if (u.snapshot && (!u.chain.contains(u.snapshot->seq) || u.chain.at(u.snapshot->seq) != u.snapshot->transaction))
        problem("the snapshot's transaction is not committed");
}

}  // namespace store_check_detail

// Every broken invariant of the store in `dir` (closed); empty when sound.
inline std::vector<std::string> check_store(const std::filesystem::path& dir) {
    namespace keys = storage::keys;
    using namespace store_check_detail;
    std::vector<std::string> problems;
    rocksdb::DBOptions db_options;
    rocksdb::ColumnFamilyOptions meta;
    meta.merge_operator = std::make_shared<pair_add>();
    std::vector<rocksdb::ColumnFamilyDescriptor> families{
        {rocksdb::kDefaultColumnFamilyName, meta}, {"chunks", {}}, {"accounts", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::OpenForReadOnly(db_options, dir.string(), families, &handles, &raw);
    if (!s.ok()) return {"cannot open: " + s.ToString()};
    std::unique_ptr<rocksdb::DB> db(raw);

    std::string version;
    if (!db->Get({}, handles[2], keys::format_version(), &version).ok() || keys::decode_u64(version) != keys::current_format)
        problems.push_back("the store format record is not " + std::to_string(keys::current_format));

    std::map<uuid, user_data> users;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[0]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        auto key = it->key().ToStringView();
        auto value = it->value().ToStringView();
        auto user = keys::key_user(key);
        auto tag = keys::key_tag(key);
        if (!user || !tag) {
            problems.push_back("a metadata key without user and tag");
            continue;
        }
        auto& u = users[*user];
        auto rest = key.substr(uuid::size + 1);
        auto bad = [&](const char* what) { problems.push_back(std::string("unreadable ") + what); };
        switch (*tag) {
        case keys::tag::head: u.head = keys::decode_head(value); if (!u.head) bad("head"); break;
        case keys::tag::stats: u.stats = keys::decode_stats(value); break;
        case keys::tag::chunk_size: {
            auto meta_value = keys::decode_chunk_meta(value);
            if (!meta_value) bad("chunk record");
            else u.chunk_meta[*digest::from_bytes(rest)] = *meta_value;
            break;
        }
        case keys::tag::references: u.references[*digest::from_bytes(rest)] = keys::decode_references(value); break;
        case keys::tag::transaction: {
            auto id = *uuid::from_bytes(rest);
            auto t = keys::decode_transaction(id, value);
            if (!t) bad("transaction");
            else u.transactions[id] = *t;
            break;
        }
        case keys::tag::uncommitted:
            u.uncommitted.insert(*uuid::from_bytes(rest));
            if (!keys::decode_time(value)) bad("uncommitted record");
            break;
        case keys::tag::child:
            u.children.insert({*uuid::from_bytes(rest.substr(0, uuid::size)), *uuid::from_bytes(rest.substr(uuid::size))});
            break;
        case keys::tag::chain: {
            auto e = keys::decode_chain_entry(value);
            if (!e) bad("chain entry");
            else u.chain[*keys::chain_seq(key)] = e->id;
            break;
        }
        case keys::tag::snapshot: u.snapshot = keys::decode_snapshot(value); if (!u.snapshot) bad("snapshot"); break;
        case keys::tag::history_from: u.history_from = keys::decode_u64(value).value_or(0); break;
        default: problems.push_back("an unknown metadata tag"); break;
        }
    }
    std::unique_ptr<rocksdb::Iterator> chunks(db->NewIterator({}, handles[1]));
    for (chunks->SeekToFirst(); chunks->Valid(); chunks->Next()) {
        auto key = chunks->key().ToStringView();
        users[*keys::key_user(key)].chunk_bytes.insert(*digest::from_bytes(key.substr(uuid::size)));
    }
    for (const auto& [user, u] : users) check_user(user, u, problems);
    it.reset();
    chunks.reset();
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    return problems;
}

}  // namespace chunklog::test
