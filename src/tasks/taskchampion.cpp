#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace chunklog {
namespace json = boost::json;

namespace {

constexpr std::int64_t ns_per_second = 1'000'000'000;

error bad(std::string why) { return make_error(errc::bad_request, std::move(why)); }

std::string fraction(std::int64_t nanos) {
    char digits[16];
    if (nanos == 0) return {};
    if (nanos % 1'000'000 == 0) std::snprintf(digits, sizeof digits, ".%03lld", static_cast<long long>(nanos / 1'000'000));
    else if (nanos % 1'000 == 0) std::snprintf(digits, sizeof digits, ".%06lld", static_cast<long long>(nanos / 1'000));
    else std::snprintf(digits, sizeof digits, ".%09lld", static_cast<long long>(nanos));
    return digits;
}

// Reads exactly `n` digits at `pos` into `out`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    auto r = std::from_chars(s.data() + pos, s.data() + pos + n, out);
    return r.ec == std::errc{} && r.ptr == s.data() + pos + n && std::isdigit(static_cast<unsigned char>(s[pos]));
}

outcome<uuid> task_id(const json::object& o) {
    auto id = o.if_contains("uuid");
    if (!id || !id->is_string()) return bad("an operation without a uuid");
    std::string text(id->get_string());
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    auto parsed = uuid::parse(text);
    if (!parsed) return bad("an operation's uuid is not a UUID: " + text);
    return *parsed;
}

outcome<operation> update_from_json(const json::object& o) {
    auto id = task_id(o);
    if (!id) return id.error();
    auto property = o.if_contains("property");
    auto value = o.if_contains("value");
    auto timestamp = o.if_contains("timestamp");
    if (!property || !property->is_string()) return bad("an Update without a property");
    if (value && !value->is_string() && !value->is_null()) return bad("an Update whose value is not a string or null");
    if (!timestamp || !timestamp->is_string()) return bad("an Update without a timestamp");
    auto ns = parse_rfc3339(timestamp->get_string());
    if (!ns) return bad("an Update's timestamp is not an RFC 3339 time: " + std::string(timestamp->get_string()));
    std::optional<std::string> text;
    if (value && value->is_string()) text = std::string(value->get_string());
    return operation::update(*id, std::string(property->get_string()), std::move(text), *ns);
}

outcome<operation> sync_op_from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (!o || o->size() != 1) return bad("an operation is not an object with one of Create, Delete, Update");
    const auto& [name, body] = *o->begin();
    const auto* fields = body.if_object();
    if (!fields) return bad("operation " + std::string(name) + " is not an object");
    if (name == "Create" || name == "Delete") {
        auto id = task_id(*fields);
        if (!id) return id.error();
        return name == "Create" ? operation::create(*id) : operation::remove(*id);
    }
    if (name == "Update") return update_from_json(*fields);
    return bad("an unknown operation " + std::string(name));
}

json::object sync_op_to_json(const operation& op) {
    switch (op.type) {
    case operation::kind::create: return {{"Create", json::object{{"uuid", op.task.to_string()}}}};
    case operation::kind::remove: return {{"Delete", json::object{{"uuid", op.task.to_string()}}}};
    case operation::kind::update: break;
    }
    json::object u;
    u["uuid"] = op.task.to_string();
    u["property"] = op.property;
    u["value"] = op.value ? json::value(*op.value) : json::value(nullptr);
    u["timestamp"] = format_rfc3339(op.timestamp_ns);
    return {{"Update", std::move(u)}};
}

}  // namespace

std::string format_rfc3339(std::int64_t ns) {
    using namespace std::chrono;
    auto seconds = ns / ns_per_second, nanos = ns % ns_per_second;
    if (nanos < 0) --seconds, nanos += ns_per_second;
    auto day = floor<days>(sys_seconds{std::chrono::seconds{seconds}});
    year_month_day ymd{day};
    hh_mm_ss<std::chrono::seconds> time{std::chrono::seconds{seconds} - day.time_since_epoch()};
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lld", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                  static_cast<long long>(time.seconds().count()));
    return text + fraction(nanos) + "Z";
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    using namespace std::chrono;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
        return std::nullopt;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || se > 59 || y < 1678 || y > 2261) return std::nullopt;
    std::size_t pos = 19;
    std::int64_t nanos = 0;
    if (pos < s.size() && s[pos] == '.') {
        std::size_t start = ++pos;
        for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos)
            if (pos - start < 9) nanos = nanos * 10 + (s[pos] - '0');
        if (pos == start) return std::nullopt;
        for (auto n = pos - start; n < 9; ++n) nanos *= 10;
    }
    std::int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else {
        int oh = 0, om = 0;
        if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-') || !digits(s, pos + 1, 2, oh) || s.size() <= pos + 3 ||
            s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        pos += 6;
    }
    if (pos != s.size()) return std::nullopt;
    std::int64_t seconds = sys_days{ymd}.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + se - offset;
    return seconds * ns_per_second + nanos;
}

std::string encode_sync_op(const operation& op) { return json::serialize(sync_op_to_json(op)); }

outcome<operation> decode_sync_op(std::string_view json_text) {
    boost::system::error_code ec;
    auto v = json::parse(json_text, ec);
    if (ec) return bad("an operation that is not JSON");
    return sync_op_from_json(v);
}

std::string encode_history_segment(std::span<const operation> ops) {
    json::array items;
    items.reserve(ops.size());
    for (const auto& op : ops) items.push_back(sync_op_to_json(op));
    return json::serialize(json::object{{"operations", std::move(items)}});
}

outcome<std::vector<operation>> decode_history_segment(std::string_view plaintext) {
    boost::system::error_code ec;
    auto v = json::parse(plaintext, ec);
    if (ec || !v.is_object()) return bad("not a TaskChampion history segment: not a JSON object");
    auto items = v.as_object().if_contains("operations");
    if (!items || !items->is_array()) return bad("not a TaskChampion history segment: no operations array");
    std::vector<operation> ops;
    ops.reserve(items->get_array().size());
    for (const auto& item : items->get_array()) {
        auto op = sync_op_from_json(item);
        if (!op) return bad("not a TaskChampion history segment: " + op.error().message);
        ops.push_back(std::move(*op));
    }
    return ops;
}

std::vector<std::vector<operation>> batch_into_versions(std::span<const operation> ops) {
    std::vector<std::vector<operation>> batches;
    std::size_t bytes = 0;
    for (const auto& op : ops) {
        auto size = encode_sync_op(op).size();
        if (batches.empty() || bytes + size > max_version_operation_bytes) {
            batches.emplace_back();
            bytes = 0;
        }
        batches.back().push_back(op);
        bytes += size;
    }
    return batches;
}

std::string encode_taskchampion_snapshot(const task_set& tasks) {
    json::object all;
    for (const auto& [id, props] : tasks) {
        json::object o;
        for (const auto& [k, v] : props) o[k] = v;
        all[id.to_string()] = std::move(o);
    }
    auto text = json::serialize(all);
    auto bound = compressBound(static_cast<uLong>(text.size()));
    std::string out(bound, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(text.data()),
                  static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
        throw std::runtime_error("zlib: cannot compress a snapshot");
    out.resize(bound);
    return out;
}

namespace {

// Inflates a zlib stream, refusing more than max_snapshot_bytes of output.
outcome<std::string> inflate_zlib(std::string_view compressed) {
    z_stream z{};
    if (inflateInit(&z) != Z_OK) throw std::runtime_error("zlib: cannot start inflating");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (out.size() >= max_snapshot_bytes) break;
        auto used = out.size();
        out.resize(std::min(max_snapshot_bytes, std::max<std::size_t>(used * 2, 64 * 1024)));
        z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        z.avail_out = static_cast<uInt>(out.size() - used);
        rc = inflate(&z, Z_NO_FLUSH);
        out.resize(out.size() - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    bool whole = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (rc == Z_OK) return bad("not a TaskChampion snapshot: it inflates past " + std::to_string(max_snapshot_bytes) + " bytes");
    if (!whole) return bad("not a TaskChampion snapshot: not one whole zlib stream");
    return out;
}

}  // namespace

outcome<task_set> decode_taskchampion_snapshot(std::string_view compressed) {
    auto text = inflate_zlib(compressed);
    if (!text) return text.error();
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (ec || !v.is_object()) return bad("not a TaskChampion snapshot: not a JSON object");
    task_set tasks;
    for (const auto& [key, value] : v.as_object()) {
        std::string lower(key);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        auto id = uuid::parse(lower);
        if (!id) return bad("not a TaskChampion snapshot: a task id that is not a UUID");
        const auto* o = value.if_object();
        if (!o) return bad("not a TaskChampion snapshot: task " + id->to_string() + " is not an object");
        task_properties props;
        for (const auto& [k, text_value] : *o) {
            if (!text_value.is_string())
                return bad("not a TaskChampion snapshot: a property of task " + id->to_string() + " is not a string");
            props.emplace(std::string(k), std::string(text_value.get_string()));
        }
        tasks[*id] = std::move(props);
    }
    return tasks;
}

}  // namespace chunklog
