#include "storage/keys.hpp"

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

std::string user_begin(const uuid& user) { return std::string(user.raw()); }

std::string user_end(const uuid& user) {
    // Longer than any key suffix and all 0xff: sorts after every key of the user
    // (the longest is a children entry, 33 bytes after the user id).
    std::string key(user.raw());
    key.append(2 * uuid::size + 2, '\xff');
    return key;
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
