#include "tasks/replica_codec.hpp"

#include <boost/json.hpp>

namespace chunklog {
namespace json = boost::json;

namespace {

// The text as JSON, or nullopt when it is not JSON.
std::optional<json::value> parse(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return std::nullopt;
    return v;
}

}  // namespace

error corrupt(std::string_view what) { return make_error(errc::internal, "corrupt replica: " + std::string(what)); }

outcome<uuid> decode_base(std::string_view raw) {
    if (auto id = uuid::from_bytes(raw)) return *id;
    return corrupt("the last synced transaction id is " + std::to_string(raw.size()) + " bytes long");
}

outcome<std::vector<operation>> decode_pending(std::string_view chunk) {
    auto ops = decode_operations(chunk);
    if (!ops) return corrupt("the unsynced operations: " + ops.error().message);
    return ops;
}

outcome<inflight> decode_inflight(std::string_view text) {
    auto v = parse(text);
    const auto* o = v ? v->if_object() : nullptr;
    const auto* id_text = o ? o->if_contains("id") : nullptr;
    const auto* count = o ? o->if_contains("count") : nullptr;
    auto id = id_text && id_text->is_string() ? uuid::parse(id_text->get_string()) : std::nullopt;
    if (!id || !count || !count->is_int64() || count->get_int64() < 0)
        return corrupt("the publish in flight is not {\"id\", \"count\"}");
    return inflight{*id, static_cast<std::size_t>(count->get_int64())};
}

outcome<working_set_slots> decode_working_set(std::string_view text) {
    auto v = parse(text);
    const auto* items = v ? v->if_array() : nullptr;
    if (!items) return corrupt("the working set is not a JSON array");
    working_set_slots ws;
    ws.reserve(items->size());
    for (const auto& item : *items) {
        if (item.is_null()) {
            ws.emplace_back();
            continue;
        }
        auto id = item.is_string() ? uuid::parse(item.get_string()) : std::nullopt;
        if (!id) return corrupt("the working set holds something other than a task id or null");
        ws.emplace_back(*id);
    }
    return ws;
}

outcome<task_properties> decode_task(std::string_view text) {
    auto v = parse(text);
    const auto* o = v ? v->if_object() : nullptr;
    if (!o) return corrupt("a task is not a JSON object");
    task_properties props;
    for (const auto& [k, value] : *o) {
        if (!value.is_string()) return corrupt("task property '" + std::string(k) + "' is not a string");
        props[std::string(k)] = std::string(value.get_string());
    }
    return props;
}

outcome<uuid> decode_task_key(std::string_view key) {
    auto id = key.starts_with(replica_keys::task_prefix) ? uuid::from_bytes(key.substr(1)) : std::nullopt;
    if (!id) return corrupt("a task key is not \"t\" and 16 bytes");
    return *id;
}

std::string encode_inflight(const inflight& f) {
    return json::serialize(json::object{{"id", f.id.to_string()}, {"count", f.count}});
}

std::string encode_working_set(const working_set_slots& ws) {
    json::array items;
    for (const auto& slot : ws) items.push_back(slot ? json::value(slot->to_string()) : json::value(nullptr));
    return json::serialize(items);
}

std::string encode_task(const task_properties& props) {
    json::object o;
    for (const auto& [k, v] : props) o[k] = v;
    return json::serialize(o);
}

}  // namespace chunklog
