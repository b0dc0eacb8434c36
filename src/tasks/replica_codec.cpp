#include "tasks/replica_codec.hpp"
#include "tasks/operation_json.hpp"

#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>

#include <charconv>

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

std::string replica_keys::pending(std::uint64_t n) {
    std::string key = pending_prefix;
    for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((n >> shift) & 0xff));
    return key;
}

outcome<std::vector<operation>> decode_old_pending(std::string_view chunk) {
    auto ops = decode_operations(chunk);
    if (!ops) return corrupt("the unsynced operations (format 1): " + ops.error().message);
    return ops;
}

outcome<std::uint64_t> decode_pending_key(std::string_view key) {
    if (key.size() != 9 || !key.starts_with(replica_keys::pending_prefix))
        return corrupt("an unsynced operation's key is not \"o\" and 8 bytes");
    std::uint64_t n = 0;
    for (char c : key.substr(1)) n = (n << 8) | static_cast<unsigned char>(c);
    return n;
}

outcome<operation> decode_pending(std::string_view text) {
    auto v = parse(text);
    if (!v) return corrupt("an unsynced operation is not JSON");
    // Format 2 wrote the operation chunk format's objects, with "op".
    const auto* o = v->if_object();
    auto op = o && o->contains("op") ? operation_from_json(*v) : decode_sync_op(text);
    if (!op) return corrupt("an unsynced operation: " + op.error().message);
    return op;
}

outcome<int> decode_format(std::string_view text) {
    int n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 1)
        return corrupt("the format record is not a number");
    return n;
}

std::string encode_pending(const operation& op) { return encode_sync_op(op); }

outcome<inflight> decode_inflight(std::string_view text) {
    auto v = parse(text);
    const auto* o = v ? v->if_object() : nullptr;
    const auto* id_text = o ? o->if_contains("id") : nullptr;
    const auto* count = o ? o->if_contains("count") : nullptr;
    const auto* last_text = o ? o->if_contains("last") : nullptr;
    auto id = id_text && id_text->is_string() ? uuid::parse(id_text->get_string()) : std::nullopt;
    auto last = last_text && last_text->is_string() ? uuid::parse(last_text->get_string()) : id;
    if (!id || !last || !count || !count->is_int64() || count->get_int64() < 0)
        return corrupt("the publish in flight is not {\"id\", \"count\", \"last\"}");
    return inflight{*id, static_cast<std::size_t>(count->get_int64()), *last};
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
    return json::serialize(json::object{{"id", f.id.to_string()}, {"count", f.count}, {"last", f.last.to_string()}});
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
