// decode_snapshot (tasks/operations.hpp) on arbitrary bytes: the snapshot
// chunks a server hands the task replica (GET log?snapshot=1).
//
// Input: the chunks, separated by NUL bytes (n NULs give n + 1 chunks; an
// empty input gives none). A raw NUL is never valid in JSON text, so no chunk
// the decoder could accept is out of reach.
//
// Checked, besides "no crash, no leak, no UB":
// - no exception escapes; a refusal is errc::bad_request with a message;
// - the decoder agrees with a reference reading of docs/operations.md
//   ("snapshot format v1") written here on plain Boost.JSON: it accepts
//   exactly when every chunk is a JSON object with format
//   "chunklog-task-snapshot", integer version 1 and a "tasks" object whose
//   keys are canonical lowercase UUIDs and whose values are objects of
//   strings, and no task is in two chunks; and then gives exactly the union
//   (a key repeated inside one JSON object is not a second task: Boost.JSON
//   keeps the last one, for both readings);
// - the order of the chunks does not matter (same answer reversed);
// - what it accepts survives the round trip: encode_snapshot gives at least
//   one chunk, decoding them gives the same tasks, encoding those gives the
//   same bytes (canonical), and the chunks are cut as documented (tasks in
//   UUID order, each chunk but the last ending after a task whose id's last
//   byte is 0, or at about 1 MiB; only an empty set gives an empty chunk).
#include <chunklog/tasks/operations.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace json = boost::json;
using chunklog::outcome;
using chunklog::task_set;

// The chunk size past which encode_snapshot may cut anywhere (the encoder's
// snapshot_chunk_bytes, 1 MiB); fuzz inputs stay far below it.
constexpr std::size_t chunk_cut_bytes = 1u << 20;

// Tasks keyed by their id's text, as the reference reads them.
using text_tasks = std::map<std::string, std::map<std::string, std::string>>;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "task_snapshot_fuzz: invariant broken: %s\n", what);
    if (!detail.empty()) {
        std::fprintf(stderr, "  detail (%zu bytes): \"", detail.size());
        for (unsigned char c : detail) std::fprintf(stderr, c >= 0x20 && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
        std::fprintf(stderr, "\"\n");
    }
    std::abort();
}

void require(bool condition, const char* what, std::string_view detail = {}) {
    if (!condition) fail(what, detail);
}

std::vector<std::string_view> split_chunks(std::string_view input) {
    std::vector<std::string_view> chunks;
    if (input.empty()) return chunks;
    for (;;) {
        auto nul = input.find('\0');
        chunks.push_back(input.substr(0, nul));
        if (nul == std::string_view::npos) return chunks;
        input.remove_prefix(nul + 1);
    }
}

outcome<task_set> decode(std::span<const std::string_view> chunks) {
    try {
        return chunklog::decode_snapshot(chunks);
    } catch (const std::exception& e) {
        fail("an exception escaped decode_snapshot", e.what());
    } catch (...) {
        fail("an exception escaped decode_snapshot");
    }
}

// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in lowercase hex, checked by hand
// rather than with uuid::parse.
bool canonical_uuid_text(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

// docs/operations.md, "Snapshot chunk format, version 1": nullopt where the
// snapshot is unreadable.
std::optional<text_tasks> reference_read(std::span<const std::string_view> chunks) {
    text_tasks tasks;
    for (auto chunk : chunks) {
        boost::system::error_code ec;
        auto v = json::parse(chunk, ec);
        if (ec || !v.is_object()) return std::nullopt;
        const auto& root = v.get_object();
        auto format = root.find("format");
        if (format == root.end() || !format->value().is_string() ||
            format->value().get_string() != "chunklog-task-snapshot")
            return std::nullopt;
        auto version = root.find("version");
        if (version == root.end()) return std::nullopt;
        const auto& n = version->value();
        if (!((n.is_int64() && n.get_int64() == 1) || (n.is_uint64() && n.get_uint64() == 1))) return std::nullopt;
        auto items = root.find("tasks");
        if (items == root.end() || !items->value().is_object()) return std::nullopt;
        for (const auto& item : items->value().get_object()) {
            if (!canonical_uuid_text(item.key()) || !item.value().is_object()) return std::nullopt;
            std::map<std::string, std::string> props;
            for (const auto& p : item.value().get_object()) {
                if (!p.value().is_string()) return std::nullopt;
                props[std::string(p.key())] = std::string(p.value().get_string());
            }
            if (!tasks.emplace(std::string(item.key()), std::move(props)).second) return std::nullopt;
        }
    }
    return tasks;
}

text_tasks as_text(const task_set& tasks) {
    text_tasks out;
    for (const auto& [id, props] : tasks) out.emplace(id.to_string(), props);
    return out;
}

bool same(const outcome<task_set>& a, const outcome<task_set>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || *a == *b;
}

// The tasks of one chunk written by encode_snapshot, in the chunk's order.
std::vector<std::string> ids_in_chunk(const std::string& chunk) {
    boost::system::error_code ec;
    auto v = json::parse(chunk, ec);
    require(!ec && v.is_object(), "encode_snapshot wrote a chunk that is not a JSON object", chunk);
    const auto* tasks = v.get_object().if_contains("tasks");
    require(tasks && tasks->is_object(), "encode_snapshot wrote a chunk without a tasks object", chunk);
    std::vector<std::string> ids;
    for (const auto& item : tasks->get_object()) ids.emplace_back(item.key());
    return ids;
}

void check_round_trip(const task_set& tasks) {
    std::vector<std::string> encoded;
    try {
        encoded = chunklog::encode_snapshot(tasks);
    } catch (const std::exception& e) {
        fail("encode_snapshot threw", e.what());
    }
    require(!encoded.empty(), "encode_snapshot gave no chunk");
    std::vector<std::string_view> views(encoded.begin(), encoded.end());
    auto joined = [&] {
        std::string all;
        for (const auto& c : encoded) all += c + '\n';
        return all;
    };

    auto again = decode(views);
    if (!again) fail("decode_snapshot refused what encode_snapshot wrote", again.error().message + "\n" + joined());
    if (*again != tasks) fail("decoding the encoding changed the tasks", joined());
    if (chunklog::encode_snapshot(*again) != encoded) fail("encode_snapshot is not canonical", joined());

    // How the encoder cuts: every task once, in UUID order, a cut only after
    // an id whose last byte is 0 (below 1 MiB), no empty chunk unless the set is.
    require(!tasks.empty() || encoded.size() == 1, "encode_snapshot wrote more than one chunk for an empty set");
    std::vector<std::string> order;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        auto ids = ids_in_chunk(encoded[i]);
        require(!ids.empty() || tasks.empty(), "encode_snapshot wrote an empty chunk for a non-empty set", joined());
        if (i + 1 < encoded.size() && encoded[i].size() < chunk_cut_bytes)
            require(!ids.empty() && ids.back().substr(34) == "00",
                    "encode_snapshot cut a chunk after an id whose last byte is not 0", joined());
        order.insert(order.end(), ids.begin(), ids.end());
    }
    std::vector<std::string> expected;
    for (const auto& entry : tasks) expected.push_back(entry.first.to_string());
    require(order == expected, "encode_snapshot did not write every task once, in UUID order", joined());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto chunks = split_chunks(std::string_view(reinterpret_cast<const char*>(data), size));
    auto tasks = decode(chunks);
    auto reference = reference_read(chunks);

    if (!tasks) {
        require(tasks.error().code == chunklog::errc::bad_request, "decode_snapshot refused with another code",
                tasks.error().message);
        require(!tasks.error().message.empty(), "decode_snapshot refused without saying why");
        if (reference) fail("decode_snapshot refused a snapshot the format allows", tasks.error().message);
    } else {
        if (!reference) fail("decode_snapshot accepted a snapshot the format refuses");
        if (as_text(*tasks) != *reference) fail("decode_snapshot and the reference reading disagree on the tasks");
    }

    std::vector<std::string_view> reversed(chunks.rbegin(), chunks.rend());
    if (!same(decode(reversed), tasks)) fail("decode_snapshot depends on the order of the chunks");

    if (tasks) check_round_trip(*tasks);
    return 0;
}
