#include "api/json_codec.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

namespace chunklog::api::json {
namespace {

error bad_request(std::string message) { return make_error(errc::bad_request, std::move(message)); }

std::string quoted(std::string_view name) { return "`" + std::string(name) + "`"; }

}  // namespace

outcome<boost::json::object> parse_object(std::string_view body) {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec) return bad_request("body is not valid JSON: " + ec.message());
    if (!value.is_object()) return bad_request("body must be a JSON object");
    return std::move(value.as_object());
}

outcome<uuid> uuid_field(const boost::json::object& o, std::string_view name) {
    auto it = o.find(name);
    if (it == o.end()) return bad_request(quoted(name) + " is required");
    if (!it->value().is_string()) return bad_request(quoted(name) + " must be a string");
    auto id = uuid::parse(it->value().get_string());
    if (!id) return make_error(errc::invalid_id, quoted(name) + " is not a canonical lowercase UUID");
    return *id;
}

outcome<std::vector<digest>> digest_array_field(const boost::json::object& o, std::string_view name,
                                                std::size_t max_items) {
    auto it = o.find(name);
    if (it == o.end()) return bad_request(quoted(name) + " is required");
    if (!it->value().is_array()) return bad_request(quoted(name) + " must be an array");
    const auto& items = it->value().get_array();
    if (items.size() > max_items)
        return bad_request(quoted(name) + " has more than " + std::to_string(max_items) + " entries");
    std::vector<digest> out;
    out.reserve(items.size());
    for (const auto& item : items) {
        if (!item.is_string()) return bad_request(quoted(name) + " must hold strings");
        auto id = digest::parse(item.get_string());
        if (!id) return make_error(errc::invalid_id, quoted(name) + " holds a malformed chunk id");
        out.push_back(*id);
    }
    return out;
}

outcome<uuid> parse_head_update(std::string_view body) {
    auto o = parse_object(body);
    if (!o) return o.error();
    return uuid_field(*o, "head");
}

namespace {

outcome<storage::new_transaction> transaction_from_object(const uuid& id, const boost::json::object& o,
                                                          std::size_t max_chunks) {
    auto parent = uuid_field(o, "parent");
    if (!parent) return parent.error();
    auto chunks = digest_array_field(o, "chunks", max_chunks);
    if (!chunks) return chunks.error();

    storage::new_transaction t{id, *parent, std::nullopt, std::move(*chunks)};
    if (auto it = o.find("seq"); it != o.end() && !it->value().is_null()) {
        const auto& v = it->value();
        if (v.is_uint64()) t.seq = v.get_uint64();
        else if (v.is_int64() && v.get_int64() >= 0) t.seq = static_cast<std::uint64_t>(v.get_int64());
        else return bad_request("`seq` must be a non-negative integer");
    }
    return t;
}

// An optional array field: empty when absent, bad_request when not an array.
outcome<const boost::json::array*> optional_array(const boost::json::object& o, std::string_view name) {
    static const boost::json::array empty;
    auto it = o.find(name);
    if (it == o.end() || it->value().is_null()) return &empty;
    if (!it->value().is_array()) return bad_request(quoted(name) + " must be an array");
    return &it->value().get_array();
}

outcome<std::pair<digest, std::string>> chunk_from_value(const boost::json::value& v, std::size_t max_bytes) {
    if (!v.is_object()) return bad_request("each chunk must be an object {\"id\", \"data\"}");
    const auto& o = v.get_object();
    auto id_it = o.find("id");
    auto data_it = o.find("data");
    if (id_it == o.end() || !id_it->value().is_string()) return bad_request("a chunk needs a string `id`");
    if (data_it == o.end() || !data_it->value().is_string()) return bad_request("a chunk needs a string `data`");
    auto id = digest::parse(id_it->value().get_string());
    if (!id) return make_error(errc::invalid_id, "a chunk id is not a lowercase hex SHA-256");
    auto bytes = base64_decode(data_it->value().get_string());
    if (!bytes) return bad_request("chunk `data` is not valid base64");
    if (bytes->size() > max_bytes) return make_error(errc::payload_too_large, "a chunk is larger than max_chunk_bytes");
    if (sha256_of(*bytes) != *id) return make_error(errc::hash_mismatch, "chunk " + id->to_string() + " does not match its data");
    return std::pair{*id, std::move(*bytes)};
}

}  // namespace

outcome<storage::new_transaction> parse_transaction(const uuid& id, std::string_view body, std::size_t max_chunks) {
    auto o = parse_object(body);
    if (!o) return o.error();
    return transaction_from_object(id, *o, max_chunks);
}

outcome<std::vector<digest>> parse_missing_query(std::string_view body, std::size_t max_ids) {
    auto o = parse_object(body);
    if (!o) return o.error();
    return digest_array_field(*o, "chunks", max_ids);
}

outcome<storage::publish_request> parse_publish(std::string_view body, const service_limits& limits) {
    auto o = parse_object(body);
    if (!o) return o.error();
    storage::publish_request request;
    auto chunks = optional_array(*o, "chunks");
    if (!chunks) return chunks.error();
    auto transactions = optional_array(*o, "transactions");
    if (!transactions) return transactions.error();
    if ((*chunks)->size() > limits.max_publish_chunks)
        return make_error(errc::payload_too_large,
                          "a publish holds at most " + std::to_string(limits.max_publish_chunks) + " chunks");
    if ((*transactions)->size() > limits.max_publish_transactions)
        return make_error(errc::payload_too_large, "a publish holds at most " +
                                                       std::to_string(limits.max_publish_transactions) +
                                                       " transactions");
    request.chunks.reserve((*chunks)->size());
    for (const auto& v : **chunks) {
        auto chunk = chunk_from_value(v, limits.max_chunk_bytes);
        if (!chunk) return chunk.error();
        request.chunks.push_back(std::move(*chunk));
    }
    request.transactions.reserve((*transactions)->size());
    for (const auto& v : **transactions) {
        if (!v.is_object()) return bad_request("each transaction must be an object");
        auto id = uuid_field(v.get_object(), "id");
        if (!id) return id.error();
        auto t = transaction_from_object(*id, v.get_object(), limits.max_chunks_per_transaction);
        if (!t) return t.error();
        request.transactions.push_back(std::move(*t));
    }
    if (auto it = o->find("head"); it != o->end() && !it->value().is_null()) {
        auto head = uuid_field(*o, "head");
        if (!head) return head.error();
        request.head = *head;
    }
    return request;
}

outcome<std::vector<digest>> parse_snapshot(std::string_view body, std::size_t max_chunks) {
    auto o = parse_object(body);
    if (!o) return o.error();
    return digest_array_field(*o, "chunks", max_chunks);
}

boost::json::object snapshot_ref_object(const storage::snapshot_ref& s) {
    return {{"transaction", s.transaction.to_string()}, {"seq", s.seq}};
}

std::string_view urgency_name(storage::snapshot_urgency u) {
    switch (u) {
    case storage::snapshot_urgency::low: return "low";
    case storage::snapshot_urgency::high: return "high";
    case storage::snapshot_urgency::none: break;
    }
    return "none";
}

boost::json::object head_object(const head_state& h) {
    return {{"head", h.head.to_string()}, {"seq", h.seq}};
}

boost::json::object transaction_object(const transaction_record& t, const std::optional<uuid>& origin_parent) {
    boost::json::array chunks;
    chunks.reserve(t.chunks.size());
    for (const auto& c : t.chunks) chunks.emplace_back(c.to_string());
    boost::json::object o{
        {"id", t.id.to_string()}, {"parent", t.parent.to_string()}, {"seq", t.seq}, {"chunks", std::move(chunks)}};
    if (origin_parent) o["origin_parent"] = origin_parent->to_string();
    return o;
}

boost::json::array id_array(const std::vector<uuid>& ids) {
    boost::json::array out;
    out.reserve(ids.size());
    for (const auto& id : ids) out.emplace_back(id.to_string());
    return out;
}

}  // namespace chunklog::api::json
