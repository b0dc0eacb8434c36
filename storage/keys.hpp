// The RocksDB key and value layout of the log store, in one place.
//
// Every key starts with the user's 16 raw id bytes, so one user's data is one
// contiguous key range in each column family (isolation, and DELETE is one
// range delete). Integers are big-endian so that byte order is numeric order.
//
//   column family "default" (metadata)
//     user 'H'                 -> head id (16) | head seq (8)
//     user 'S'                 -> chunk count (8, LE) | chunk bytes (8, LE), merged
//     user 'C' sha256          -> chunk size (8)  (existence without touching the bytes)
//     user 'T' txid            -> parent (16) | seq (8) | chunk ids (32 each)
//     user 'K' parent child    -> ""   (children index)
//     user 'Q' seq             -> txid (committed chain, by seq)
//   column family "chunks"
//     user sha256              -> chunk bytes
//
// Pure functions; thread-safe.
#pragma once

#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

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
};

std::string head(const uuid& user);
std::string stats(const uuid& user);
std::string transaction(const uuid& user, const uuid& id);
std::string child(const uuid& user, const uuid& parent, const uuid& child_id);
std::string children_prefix(const uuid& user, const uuid& parent);
std::string chain(const uuid& user, std::uint64_t seq);
std::string chunk(const uuid& user, const digest& id);       // "chunks" family
std::string chunk_size(const uuid& user, const digest& id);  // "default" family

// [user_begin, user_end) covers every key of the user in every family.
std::string user_begin(const uuid& user);
std::string user_end(const uuid& user);

// Reads the seq back out of a chain key; nullopt for a foreign key.
std::optional<std::uint64_t> chain_seq(std::string_view key);

void put_be64(std::string& out, std::uint64_t v);
std::uint64_t get_be64(std::string_view in);

std::string encode_head(const head_state& h);
std::optional<head_state> decode_head(std::string_view value);

std::string encode_transaction(const transaction_record& t);
std::optional<transaction_record> decode_transaction(const uuid& id, std::string_view value);

struct chunk_stats {
    std::int64_t count = 0;
    std::int64_t bytes = 0;
};
std::string encode_stats(chunk_stats s);
chunk_stats decode_stats(std::string_view value);  // empty or malformed -> zero

}  // namespace chunklog::storage::keys
