// The RocksDB key and value layout of the log store, in one place.
//
// In the data families every key starts with the user's 16 raw id bytes, so
// one user's data is one contiguous key range in each (isolation, and DELETE
// is one range delete). Accounts (tokens, quotas) are in a family of their
// own that DELETE does not touch; a tag byte first keeps tokens, found by
// their secret's hash, apart from the per-user keys. Integers are big-endian
// so that byte order is numeric order; times are Unix milliseconds.
//
// Store format 3 (format 2 had no chunk file references; format 1, the
// layout before garbage collection, had no 'v' key, no 'U', 'R', 'P' or 'F'
// keys, and no times in 'C' and 'Q' values; storage/format.cpp upgrades
// both in place):
//
//   column family "default" (metadata)
//     user 'H'                 -> head id (16) | head seq (8)
//     user 'S'                 -> chunk count (8, LE) | chunk bytes (8, LE), merged
//     user 'C' sha256          -> chunk size (8) | stored (8): when the chunk was
//                                 stored or last re-sent (existence without the bytes)
//     user 'R' sha256          -> references (8, LE) | 0 (8), merged like 'S': the
//                                 stored transactions whose chunk list names the
//                                 chunk, plus one when the snapshot does
//     user 'T' txid            -> parent (16) | seq (8) | chunk ids (32 each)
//     user 'U' txid            -> stored (8): the transaction is not committed
//                                 (pending or dead); when it was stored or re-sent
//     user 'K' parent child    -> ""   (children index)
//     user 'Q' seq             -> txid (16) | committed (8)  (committed chain, by seq)
//     user 'P'                 -> snapshot: txid (16) | seq (8) | created (8) | chunk ids (32 each)
//     user 'F'                 -> history_from (8): the committed transactions up to
//                                 this seq were removed by history truncation
//     user 'O'                 -> origin parent (16) | version txid (16): the parent
//                                 a TaskChampion client named for the user's first
//                                 version, stored as a child of ROOT (protocol
//                                 section 12). Only the transaction at seq 1 can
//                                 have one, so one key per user is enough; it
//                                 counts only while the chain's entry at seq 1
//                                 names its txid (readers check), and history
//                                 truncation removes it with that transaction.
//                                 Added within format 2: a format 2 reader from
//                                 before never looks the key up, and no code
//                                 scans metadata by tag except verify, so those
//                                 readers are unaffected (an older `chunklogd
//                                 verify` reports the key as unreadable, and an
//                                 older GC pass leaves it stale, which readers
//                                 and this verifier accept)
//   column family "chunks"
//     user sha256              -> chunk bytes, or (format 3) a reference to the
//                                 file holding them: 16 fixed bytes | file number (8)
//                                 | size (8) (chunk_files.hpp)
//   column family "accounts"
//     't' sha256(secret)       -> format 1 (1) | user (16) | scope (1) | created (8)
//                                 | has expiry (1) | [expires (8)] | id length (1) | id | label
//     'u' user 'Q'             -> quota in bytes (8); absent: the store's default
//     'u' user 'N' number (8)  -> sha256(secret) (32) | token id
//                                 (the user's tokens by creation number 1, 2, ...;
//                                 a token id is unique among the user's tokens)
//     'v'                      -> store format version (8); here because this
//                                 family's keys are not all per user
//     'w'                      -> while an upgrade runs: the last metadata key
//                                 it converted (upgrades resume after it)
//
// Pure functions; thread-safe.
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <chunklog/storage/log_store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chunklog::storage::keys {

enum class tag : char {
    head = 'H',
    stats = 'S',
    chunk_size = 'C',
    transaction = 'T',
    child = 'K',
    chain = 'Q',
    uncommitted = 'U',
    references = 'R',
    snapshot = 'P',
    history_from = 'F',
    origin = 'O',
};

enum class account_tag : char {
    token = 't',
    user = 'u',
    quota = 'Q',        // after 'u' user
    token_index = 'N',  // after 'u' user
    format_version = 'v',
    upgrade_cursor = 'w',
};

// Every key of the "default" and "chunks" families starts with the user's
// raw id; a metadata key has its tag right after it.
inline constexpr std::size_t user_bytes = 16;

// The store format this code reads and writes.
inline constexpr std::uint64_t current_format = 3;

std::string head(const uuid& user);
std::string stats(const uuid& user);
std::string transaction(const uuid& user, const uuid& id);
std::string child(const uuid& user, const uuid& parent, const uuid& child_id);
std::string children_prefix(const uuid& user, const uuid& parent);
std::string chain(const uuid& user, std::uint64_t seq);
std::string chunk(const uuid& user, const digest& id);       // "chunks" family
std::string chunk_size(const uuid& user, const digest& id);  // "default" family
std::string references(const uuid& user, const digest& id);
std::string uncommitted(const uuid& user, const uuid& id);
std::string snapshot(const uuid& user);
std::string history_from(const uuid& user);
std::string origin(const uuid& user);
// Every key of one tag of the user starts with tag_prefix(user, tag).
std::string tag_prefix(const uuid& user, tag t);
// The tag of a metadata key; nullopt for a key too short to have one.
std::optional<tag> key_tag(std::string_view key);

// [user_begin, user_end) covers every key of the user in every family.
// user_begin is the bare user id, shorter than every key: the memtable
// insert hints (db_handle.cpp) rely on it.
std::string user_begin(const uuid& user);
std::string user_end(const uuid& user);

// Reads the seq back out of a chain key; nullopt for a foreign key.
std::optional<std::uint64_t> chain_seq(std::string_view key);

// The user id a key of the "default" or "chunks" family starts with.
std::optional<uuid> key_user(std::string_view key);
// The smallest id after `user` (nullopt after the last one): seeking to it
// skips the rest of the user's keys.
std::optional<uuid> next_user(const uuid& user);

// "accounts" family.
std::string format_version();
std::string upgrade_cursor();
std::string token(const digest& secret_hash);
std::string quota(const uuid& user);
std::string token_index(const uuid& user, std::uint64_t number);
std::string token_index_prefix(const uuid& user);
// Every 'u' key of the user starts with account_user(user); every 'u' key
// of every user with account_users_prefix().
std::string account_user(const uuid& user);
std::string_view account_users_prefix();
// The user of a 'u' key; nullopt for any other key.
std::optional<uuid> account_key_user(std::string_view key);
// The creation number of a token index key; nullopt for any other key.
std::optional<std::uint64_t> token_index_number(std::string_view key);

// The longest token id (bytes of [A-Za-z0-9_-]).
inline constexpr std::size_t max_token_id = 64;

struct token_index_entry {
    digest secret_hash;
    std::string id;
};
std::string encode_token_index(const token_index_entry& e);
std::optional<token_index_entry> decode_token_index(std::string_view value);

std::string encode_token(const token_record& t);
std::optional<token_record> decode_token(std::string_view value);

std::string encode_quota(std::uint64_t bytes);
std::optional<std::uint64_t> decode_quota(std::string_view value);

void put_be64(std::string& out, std::uint64_t v);
std::uint64_t get_be64(std::string_view in);

std::string encode_head(const head_state& h);
std::optional<head_state> decode_head(std::string_view value);

// A 'C' value. Format 1 values (8 bytes, no time) do not decode.
struct chunk_meta {
    std::uint64_t size = 0;
    std::int64_t stored = 0;
    friend bool operator==(const chunk_meta&, const chunk_meta&) = default;
};
std::string encode_chunk_meta(const chunk_meta& c);
std::optional<chunk_meta> decode_chunk_meta(std::string_view value);

// A 'Q' value. Format 1 values (16 bytes, no time) do not decode.
struct chain_entry {
    uuid id;
    std::int64_t committed = 0;
    friend bool operator==(const chain_entry&, const chain_entry&) = default;
};
std::string encode_chain_entry(const chain_entry& e);
std::optional<chain_entry> decode_chain_entry(std::string_view value);

// 'U' and 'F' values, and the format version: one 8-byte integer.
std::string encode_u64(std::uint64_t v);
std::optional<std::uint64_t> decode_u64(std::string_view value);
std::string encode_time(std::int64_t ms);
std::optional<std::int64_t> decode_time(std::string_view value);

// A 'P' value.
std::string encode_snapshot(const snapshot_record& s);
std::optional<snapshot_record> decode_snapshot(std::string_view value);

// An 'O' value: the parent a TaskChampion client named for the first
// version, and that version's transaction.
struct origin_record {
    uuid parent;
    uuid version;
    friend bool operator==(const origin_record&, const origin_record&) = default;
};
std::string encode_origin(const origin_record& o);
std::optional<origin_record> decode_origin(std::string_view value);

// 'R' operands and values share the 'S' encoding: (count, 0).
std::string encode_references(std::int64_t delta);
std::int64_t decode_references(std::string_view value);  // empty or malformed -> 0

std::string encode_transaction(const transaction_record& t);
std::optional<transaction_record> decode_transaction(const uuid& id, std::string_view value);

struct chunk_stats {
    std::int64_t count = 0;
    std::int64_t bytes = 0;
};
std::string encode_stats(chunk_stats s);
chunk_stats decode_stats(std::string_view value);  // empty or malformed -> zero

}  // namespace chunklog::storage::keys
