#include <chunklog/tasks/operations.hpp>

#include "tasks/operation_json.hpp"

#include <boost/json.hpp>

#include <limits>

namespace chunklog {
namespace json = boost::json;

namespace {

constexpr std::string_view format_name = "chunklog-task-ops";

// The chunk format's timestamps are milliseconds; the largest that fits in
// nanoseconds (year 2262).
constexpr std::int64_t max_timestamp_ms = std::numeric_limits<std::int64_t>::max() / 1'000'000;

const char* kind_name(operation::kind k) {
    switch (k) {
    case operation::kind::create: return "create";
    case operation::kind::remove: return "delete";
    case operation::kind::update: return "update";
    }
    return "?";
}

}  // namespace

void apply_operation(task_set& tasks, const operation& op) {
    switch (op.type) {
    case operation::kind::create: tasks.try_emplace(op.task); break;
    case operation::kind::remove: tasks.erase(op.task); break;
    case operation::kind::update: {
        auto it = tasks.find(op.task);
        if (it == tasks.end()) break;
        if (op.value) it->second[op.property] = *op.value;
        else it->second.erase(op.property);
        break;
    }
    }
}

std::pair<std::optional<operation>, std::optional<operation>> transform(const operation& a, const operation& b) {
    using k = operation::kind;
    if (a.task != b.task) return {a, b};
    if (a.type == b.type && a.type != k::update) return {std::nullopt, std::nullopt};
    if (a.type == k::create && b.type == k::remove) return {a, std::nullopt};
    if (a.type == k::remove && b.type == k::create) return {std::nullopt, b};
    if (a.type == k::update && b.type == k::create) return {a, std::nullopt};
    if (a.type == k::create && b.type == k::update) return {std::nullopt, b};
    if (a.type == k::update && b.type == k::remove) return {std::nullopt, b};
    if (a.type == k::remove && b.type == k::update) return {a, std::nullopt};
    // Two updates.
    if (a.property != b.property) return {a, b};
    if (a.value == b.value) return {std::nullopt, std::nullopt};
    if (a.timestamp_ns < b.timestamp_ns) return {std::nullopt, b};
    return {a, std::nullopt};
}

boost::json::object operation_to_json(const operation& op) {
    json::object o{{"op", kind_name(op.type)}, {"task", op.task.to_string()}};
    if (op.type == operation::kind::update) {
        o["property"] = op.property;
        o["value"] = op.value ? json::value(*op.value) : json::value(nullptr);
        o["timestamp"] = op.timestamp_ns / 1'000'000;
    }
    return o;
}

outcome<operation> operation_from_json(const json::value& item) {
    auto bad = [](std::string why) { return make_error(errc::bad_request, std::move(why)); };
    const auto* o = item.if_object();
    if (!o) return bad("operation is not an object");
    auto op_name = o->if_contains("op");
    auto task_text = o->if_contains("task");
    auto task = task_text && task_text->is_string() ? uuid::parse(task_text->get_string()) : std::nullopt;
    if (!op_name || !op_name->is_string() || !task) return bad("operation lacks op or task");
    if (op_name->get_string() == "create") return operation::create(*task);
    if (op_name->get_string() == "delete") return operation::remove(*task);
    if (op_name->get_string() != "update") return bad("unknown op");
    auto property = o->if_contains("property");
    auto value = o->if_contains("value");
    auto timestamp = o->if_contains("timestamp");
    if (!property || !property->is_string() || !value || !(value->is_string() || value->is_null()) || !timestamp ||
        !timestamp->is_int64())
        return bad("malformed update");
    if (timestamp->get_int64() > max_timestamp_ms || timestamp->get_int64() < -max_timestamp_ms)
        return bad("timestamp out of range");
    std::optional<std::string> text;
    if (value->is_string()) text = std::string(value->get_string());
    return operation::update(*task, std::string(property->get_string()), std::move(text),
                             timestamp->get_int64() * 1'000'000);
}

std::string encode_operations(const std::vector<operation>& ops) {
    json::array items;
    items.reserve(ops.size());
    for (const auto& op : ops) items.push_back(operation_to_json(op));
    return json::serialize(json::object{
        {"format", format_name}, {"version", operations_format_version}, {"operations", std::move(items)}});
}

outcome<std::vector<operation>> decode_operations(std::string_view chunk) {
    auto bad = [](std::string why) { return make_error(errc::bad_request, "not a task operation chunk: " + why); };
    boost::system::error_code ec;
    auto v = json::parse(chunk, ec);
    if (ec || !v.is_object()) return bad("not a JSON object");
    const auto& root = v.as_object();
    auto format = root.if_contains("format");
    auto version = root.if_contains("version");
    auto items = root.if_contains("operations");
    if (!format || !format->is_string() || format->get_string() != format_name) return bad("unknown format");
    if (!version || !version->is_int64() || version->get_int64() != operations_format_version)
        return bad("unsupported version");
    if (!items || !items->is_array()) return bad("no operations");
    std::vector<operation> ops;
    ops.reserve(items->get_array().size());
    for (const auto& item : items->get_array()) {
        auto op = operation_from_json(item);
        if (!op) return bad(op.error().message);
        ops.push_back(std::move(*op));
    }
    return ops;
}

namespace {

constexpr std::string_view snapshot_format_name = "chunklog-task-snapshot";
// A snapshot chunk ends after a task whose id's last byte is 0 (one task in
// 256 on average, about 64 KiB), so that a change to one task changes one
// chunk, or once it holds this many bytes.
constexpr std::size_t snapshot_chunk_bytes = 1u << 20;

std::string snapshot_chunk(json::object tasks) {
    return json::serialize(json::object{
        {"format", snapshot_format_name}, {"version", snapshot_format_version}, {"tasks", std::move(tasks)}});
}

}  // namespace

std::vector<std::string> encode_snapshot(const task_set& tasks) {
    std::vector<std::string> chunks;
    json::object part;
    std::size_t bytes = 0;
    for (const auto& [id, props] : tasks) {
        json::object o;
        for (const auto& [k, v] : props) o[k] = v;
        bytes += json::serialize(o).size() + 40;  // the id, quotes, colon and comma
        part[id.to_string()] = std::move(o);
        if (static_cast<unsigned char>(id.raw()[15]) == 0 || bytes >= snapshot_chunk_bytes) {
            chunks.push_back(snapshot_chunk(std::move(part)));
            part = {};
            bytes = 0;
        }
    }
    if (!part.empty() || chunks.empty()) chunks.push_back(snapshot_chunk(std::move(part)));
    return chunks;
}

outcome<task_set> decode_snapshot(std::span<const std::string_view> chunks) {
    auto bad = [](std::string why) { return make_error(errc::bad_request, "not a task snapshot chunk: " + why); };
    task_set tasks;
    for (auto chunk : chunks) {
        boost::system::error_code ec;
        auto v = json::parse(chunk, ec);
        if (ec || !v.is_object()) return bad("not a JSON object");
        const auto& root = v.as_object();
        auto format = root.if_contains("format");
        auto version = root.if_contains("version");
        auto items = root.if_contains("tasks");
        if (!format || !format->is_string() || format->get_string() != snapshot_format_name)
            return bad("unknown format");
        if (!version || !version->is_int64() || version->get_int64() != snapshot_format_version)
            return bad("unsupported version");
        if (!items || !items->is_object()) return bad("no tasks");
        for (const auto& [key, value] : items->get_object()) {
            auto id = uuid::parse(key);
            if (!id) return bad("a task id that is not a canonical UUID");
            const auto* o = value.if_object();
            if (!o) return bad("task " + id->to_string() + " is not an object");
            task_properties props;
            for (const auto& [k, text] : *o) {
                if (!text.is_string()) return bad("a property of task " + id->to_string() + " is not a string");
                props.emplace(std::string(k), std::string(text.get_string()));
            }
            if (!tasks.emplace(*id, std::move(props)).second) return bad("task " + id->to_string() + " appears twice");
        }
    }
    return tasks;
}

}  // namespace chunklog
