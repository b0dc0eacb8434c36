#include "storage/rocksdb/keys.hpp"

#include <boost/endian/conversion.hpp>

#include <cstring>

namespace chunklog::storage::keys {
namespace {

std::string prefixed(const uuid& user, tag t, std::size_t extra) {
    std::string key;
    key.reserve(uuid::size + 1 + extra);
    key.append(user.raw());
    key.push_back(static_cast<char>(t));
    return key;
}

void put_le64(std::string& out, std::int64_t v) {
    auto le = boost::endian::native_to_little(v);
    out.append(reinterpret_cast<const char*>(&le), sizeof le);
}

std::int64_t get_le64(std::string_view in) {
    std::int64_t v = 0;
    std::memcpy(&v, in.data(), sizeof v);
    return boost::endian::little_to_native(v);
}

constexpr std::size_t head_value_size = uuid::size + 8;
constexpr std::size_t transaction_fixed_size = uuid::size + 8;
constexpr std::size_t stats_value_size = 16;

constexpr char token_format = 1;        // first byte of a token record
constexpr char token_has_expiry = 1;    // flag bit

std::string account_user_key(const uuid& user, account_tag t, std::size_t extra) {
    std::string key;
    key.reserve(2 + uuid::size + extra);
    key.push_back(static_cast<char>(account_tag::user));
    key.append(user.raw());
    key.push_back(static_cast<char>(t));
    return key;
}

}  // namespace

void put_be64(std::string& out, std::uint64_t v) {
    auto be = boost::endian::native_to_big(v);
    out.append(reinterpret_cast<const char*>(&be), sizeof be);
}

std::uint64_t get_be64(std::string_view in) {
    std::uint64_t v = 0;
    std::memcpy(&v, in.data(), sizeof v);
    return boost::endian::big_to_native(v);
}

std::string head(const uuid& user) { return prefixed(user, tag::head, 0); }
std::string stats(const uuid& user) { return prefixed(user, tag::stats, 0); }

std::string transaction(const uuid& user, const uuid& id) {
    auto key = prefixed(user, tag::transaction, uuid::size);
    key.append(id.raw());
    return key;
}

std::string children_prefix(const uuid& user, const uuid& parent) {
    auto key = prefixed(user, tag::child, 2 * uuid::size);
    key.append(parent.raw());
    return key;
}

std::string child(const uuid& user, const uuid& parent, const uuid& child_id) {
    auto key = children_prefix(user, parent);
    key.append(child_id.raw());
    return key;
}

std::string chain(const uuid& user, std::uint64_t seq) {
    auto key = prefixed(user, tag::chain, 8);
    put_be64(key, seq);
    return key;
}

std::optional<std::uint64_t> chain_seq(std::string_view key) {
    if (key.size() != uuid::size + 1 + 8 || key[uuid::size] != static_cast<char>(tag::chain))
        return std::nullopt;
    return get_be64(key.substr(uuid::size + 1));
}

std::string chunk(const uuid& user, const digest& id) {
    std::string key;
    key.reserve(uuid::size + digest::size);
    key.append(user.raw());
    key.append(id.raw());
    return key;
}

std::string chunk_size(const uuid& user, const digest& id) {
    auto key = prefixed(user, tag::chunk_size, digest::size);
    key.append(id.raw());
    return key;
}

std::string references(const uuid& user, const digest& id) {
    auto key = prefixed(user, tag::references, digest::size);
    key.append(id.raw());
    return key;
}

std::string uncommitted(const uuid& user, const uuid& id) {
    auto key = prefixed(user, tag::uncommitted, uuid::size);
    key.append(id.raw());
    return key;
}

std::string snapshot(const uuid& user) { return prefixed(user, tag::snapshot, 0); }
std::string history_from(const uuid& user) { return prefixed(user, tag::history_from, 0); }
std::string origin(const uuid& user) { return prefixed(user, tag::origin, 0); }
std::string tag_prefix(const uuid& user, tag t) { return prefixed(user, t, 0); }

std::optional<tag> key_tag(std::string_view key) {
    if (key.size() <= uuid::size) return std::nullopt;
    return static_cast<tag>(key[uuid::size]);
}

std::string user_begin(const uuid& user) { return std::string(user.raw()); }

std::string user_end(const uuid& user) {
    // Longer than any key suffix and all 0xff: sorts after every key of the user
    // (the longest is a children entry, 33 bytes after the user id).
    std::string key(user.raw());
    key.append(2 * uuid::size + 2, '\xff');
    return key;
}

std::optional<uuid> key_user(std::string_view key) {
    if (key.size() < uuid::size) return std::nullopt;
    return uuid::from_bytes(key.substr(0, uuid::size));
}

std::optional<uuid> next_user(const uuid& user) {
    auto bytes = user.bytes();
    for (auto i = bytes.size(); i-- > 0;)
        if (++bytes[i] != 0) return uuid(bytes);  // no carry out of this byte
    return std::nullopt;                          // user was all 0xff
}

std::string format_version() { return std::string(1, static_cast<char>(account_tag::format_version)); }
std::string upgrade_cursor() { return std::string(1, static_cast<char>(account_tag::upgrade_cursor)); }

std::string token(const digest& secret_hash) {
    std::string key;
    key.reserve(1 + digest::size);
    key.push_back(static_cast<char>(account_tag::token));
    key.append(secret_hash.raw());
    return key;
}

std::string quota(const uuid& user) { return account_user_key(user, account_tag::quota, 0); }

std::string token_index_prefix(const uuid& user) { return account_user_key(user, account_tag::token_index, 8); }

std::string token_index(const uuid& user, std::uint64_t number) {
    auto key = token_index_prefix(user);
    put_be64(key, number);
    return key;
}

std::string account_user(const uuid& user) {
    std::string key;
    key.push_back(static_cast<char>(account_tag::user));
    key.append(user.raw());
    return key;
}

std::string_view account_users_prefix() {
    static constexpr char prefix = static_cast<char>(account_tag::user);
    return {&prefix, 1};
}

std::optional<uuid> account_key_user(std::string_view key) {
    if (key.size() < 1 + uuid::size || key[0] != static_cast<char>(account_tag::user)) return std::nullopt;
    return uuid::from_bytes(key.substr(1, uuid::size));
}

std::optional<std::uint64_t> token_index_number(std::string_view key) {
    if (key.size() != 2 + uuid::size + 8 || key[0] != static_cast<char>(account_tag::user) ||
        key[1 + uuid::size] != static_cast<char>(account_tag::token_index))
        return std::nullopt;
    return get_be64(key.substr(2 + uuid::size));
}

std::string encode_token_index(const token_index_entry& e) {
    std::string v(e.secret_hash.raw());
    v.append(e.id);
    return v;
}

std::optional<token_index_entry> decode_token_index(std::string_view value) {
    if (value.size() <= digest::size) return std::nullopt;
    return token_index_entry{*digest::from_bytes(value.substr(0, digest::size)),
                             std::string(value.substr(digest::size))};
}

// Times are two's complement, big-endian; the label is the rest of the value.
// Precondition: t.id is 1 to 64 bytes (create_token checks it).
std::string encode_token(const token_record& t) {
    std::string v;
    v.reserve(1 + uuid::size + 1 + 8 + 1 + 8 + 1 + t.id.size() + t.label.size());
    v.push_back(token_format);
    v.append(t.user.raw());
    v.push_back(static_cast<char>(t.scope));
    put_be64(v, static_cast<std::uint64_t>(t.created));
    v.push_back(t.expires ? token_has_expiry : 0);
    if (t.expires) put_be64(v, static_cast<std::uint64_t>(*t.expires));
    v.push_back(static_cast<char>(t.id.size()));
    v.append(t.id);
    v.append(t.label);
    return v;
}

std::optional<token_record> decode_token(std::string_view value) {
    constexpr std::size_t fixed = 1 + uuid::size + 1 + 8 + 1;
    if (value.size() < fixed + 1 || value[0] != token_format) return std::nullopt;
    token_record t;
    t.user = *uuid::from_bytes(value.substr(1, uuid::size));
    auto scope = static_cast<token_scope>(value[1 + uuid::size]);
    if (scope != token_scope::read && scope != token_scope::write) return std::nullopt;
    t.scope = scope;
    t.created = static_cast<std::int64_t>(get_be64(value.substr(2 + uuid::size, 8)));
    auto flags = value[fixed - 1];
    auto rest = value.substr(fixed);
    if (flags & token_has_expiry) {
        if (rest.size() < 8 + 1) return std::nullopt;
        t.expires = static_cast<std::int64_t>(get_be64(rest.substr(0, 8)));
        rest.remove_prefix(8);
    }
    auto id_size = static_cast<unsigned char>(rest[0]);
    rest.remove_prefix(1);
    if (id_size == 0 || id_size > max_token_id || rest.size() < id_size) return std::nullopt;
    t.id = std::string(rest.substr(0, id_size));
    t.label = std::string(rest.substr(id_size));
    return t;
}

std::string encode_quota(std::uint64_t bytes) {
    std::string v;
    put_be64(v, bytes);
    return v;
}

std::optional<std::uint64_t> decode_quota(std::string_view value) {
    if (value.size() != 8) return std::nullopt;
    return get_be64(value);
}

std::string encode_head(const head_state& h) {
    std::string v(h.head.raw());
    put_be64(v, h.seq);
    return v;
}

std::optional<head_state> decode_head(std::string_view value) {
    if (value.size() != head_value_size) return std::nullopt;
    return head_state{*uuid::from_bytes(value.substr(0, uuid::size)), get_be64(value.substr(uuid::size))};
}

std::string encode_chunk_meta(const chunk_meta& c) {
    std::string v;
    v.reserve(16);
    put_be64(v, c.size);
    put_be64(v, static_cast<std::uint64_t>(c.stored));
    return v;
}

std::optional<chunk_meta> decode_chunk_meta(std::string_view value) {
    if (value.size() != 16) return std::nullopt;
    return chunk_meta{get_be64(value), static_cast<std::int64_t>(get_be64(value.substr(8)))};
}

std::string encode_chain_entry(const chain_entry& e) {
    std::string v(e.id.raw());
    put_be64(v, static_cast<std::uint64_t>(e.committed));
    return v;
}

std::optional<chain_entry> decode_chain_entry(std::string_view value) {
    if (value.size() != uuid::size + 8) return std::nullopt;
    return chain_entry{*uuid::from_bytes(value.substr(0, uuid::size)),
                       static_cast<std::int64_t>(get_be64(value.substr(uuid::size)))};
}

std::string encode_u64(std::uint64_t v) {
    std::string out;
    put_be64(out, v);
    return out;
}

std::optional<std::uint64_t> decode_u64(std::string_view value) {
    if (value.size() != 8) return std::nullopt;
    return get_be64(value);
}

std::string encode_time(std::int64_t ms) { return encode_u64(static_cast<std::uint64_t>(ms)); }

std::optional<std::int64_t> decode_time(std::string_view value) {
    auto v = decode_u64(value);
    if (!v) return std::nullopt;
    return static_cast<std::int64_t>(*v);
}

std::string encode_origin(const origin_record& o) {
    std::string v;
    v.reserve(2 * uuid::size);
    v.append(o.parent.raw());
    v.append(o.version.raw());
    return v;
}

std::optional<origin_record> decode_origin(std::string_view value) {
    if (value.size() != 2 * uuid::size) return std::nullopt;
    return origin_record{*uuid::from_bytes(value.substr(0, uuid::size)), *uuid::from_bytes(value.substr(uuid::size))};
}

std::string encode_snapshot(const snapshot_record& s) {
    std::string v;
    v.reserve(uuid::size + 16 + s.chunks.size() * digest::size);
    v.append(s.transaction.raw());
    put_be64(v, s.seq);
    put_be64(v, static_cast<std::uint64_t>(s.created));
    for (const auto& c : s.chunks) v.append(c.raw());
    return v;
}

std::optional<snapshot_record> decode_snapshot(std::string_view value) {
    constexpr std::size_t fixed = uuid::size + 16;
    if (value.size() < fixed || (value.size() - fixed) % digest::size != 0) return std::nullopt;
    snapshot_record s;
    s.transaction = *uuid::from_bytes(value.substr(0, uuid::size));
    s.seq = get_be64(value.substr(uuid::size, 8));
    s.created = static_cast<std::int64_t>(get_be64(value.substr(uuid::size + 8, 8)));
    s.chunks.reserve((value.size() - fixed) / digest::size);
    for (auto rest = value.substr(fixed); !rest.empty(); rest.remove_prefix(digest::size))
        s.chunks.push_back(*digest::from_bytes(rest.substr(0, digest::size)));
    return s;
}

std::string encode_references(std::int64_t delta) { return encode_stats({delta, 0}); }
std::int64_t decode_references(std::string_view value) { return decode_stats(value).count; }

std::string encode_transaction(const transaction_record& t) {
    std::string v;
    v.reserve(transaction_fixed_size + t.chunks.size() * digest::size);
    v.append(t.parent.raw());
    put_be64(v, t.seq);
    for (const auto& c : t.chunks) v.append(c.raw());
    return v;
}

std::optional<transaction_record> decode_transaction(const uuid& id, std::string_view value) {
    if (value.size() < transaction_fixed_size || (value.size() - transaction_fixed_size) % digest::size != 0)
        return std::nullopt;
    transaction_record t;
    t.id = id;
    t.parent = *uuid::from_bytes(value.substr(0, uuid::size));
    t.seq = get_be64(value.substr(uuid::size, 8));
    for (auto rest = value.substr(transaction_fixed_size); !rest.empty(); rest.remove_prefix(digest::size))
        t.chunks.push_back(*digest::from_bytes(rest.substr(0, digest::size)));
    return t;
}

std::string encode_stats(chunk_stats s) {
    std::string v;
    v.reserve(stats_value_size);
    put_le64(v, s.count);
    put_le64(v, s.bytes);
    return v;
}

chunk_stats decode_stats(std::string_view value) {
    if (value.size() != stats_value_size) return {};
    return {get_le64(value.substr(0, 8)), get_le64(value.substr(8))};
}

}  // namespace chunklog::storage::keys
