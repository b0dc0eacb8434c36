// The JSON body decoders of api/json_codec.hpp on arbitrary bytes: each input
// goes through all four (publish, transaction, missing query, head update).
// None may crash; what one accepts must hold the protocol's invariants,
// checked against an independent Boost.JSON reading of the same body: ids
// written canonically, counts within the limits, every published chunk
// hashing to its id.
#include "api/json_codec.hpp"
#include "api/service_options.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace chunklog;

// Small limits, so that inputs the fuzzer can reach cross them.
api::service_limits fuzz_limits() {
    api::service_limits limits;
    limits.max_chunk_bytes = 64;
    limits.max_chunks_per_transaction = 8;
    limits.max_missing_query = 8;
    return limits;
}

const uuid transaction_id = *uuid::parse("6f9619ff-8b86-4d01-b42d-00c04fc964ff");

void require(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "json_codec_fuzz: invariant broken: %s\n", what);
    std::abort();
}

// The body as Boost.JSON reads it; only called once a decoder accepted it.
boost::json::object reread(std::string_view body) {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    require(!ec && value.is_object(), "a decoder accepted a body that is not a JSON object");
    return std::move(value.as_object());
}

std::size_t array_size(const boost::json::object& o, std::string_view name) {
    auto* v = o.if_contains(name);
    if (!v || v->is_null()) return 0;
    require(v->is_array(), "an accepted array field is not an array");
    return v->get_array().size();
}

void check_digests(const std::vector<digest>& ids, const boost::json::value& field, std::size_t max) {
    require(field.is_array(), "accepted chunk ids are not an array");
    const auto& items = field.get_array();
    require(ids.size() == items.size(), "chunk id count differs from the array");
    require(ids.size() <= max, "more chunk ids than the limit");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        require(items[i].is_string() && items[i].get_string() == ids[i].to_string(),
                "a chunk id is not the canonical text it was read from");
    }
}

void check_uuid(const uuid& id, const boost::json::object& o, std::string_view name) {
    auto* v = o.if_contains(name);
    require(v && v->is_string() && v->get_string() == id.to_string(), "a uuid is not the canonical text it was read from");
}

void check_transaction(const storage::new_transaction& t, const boost::json::object& o, std::size_t max_chunks) {
    check_uuid(t.parent, o, "parent");
    check_digests(t.chunks, o.at("chunks"), max_chunks);
    auto* seq = o.if_contains("seq");
    if (!seq || seq->is_null()) require(!t.seq, "a seq appeared from nowhere");
    else require(t.seq && seq->to_number<std::uint64_t>() == *t.seq, "seq differs from the body");
}

void fuzz_publish(std::string_view body, const api::service_limits& limits) {
    auto request = api::json::parse_publish(body, limits);
    if (!request) return;
    auto o = reread(body);
    require(request->chunks.size() == array_size(o, "chunks"), "chunk count differs from the body");
    for (std::size_t i = 0; i < request->chunks.size(); ++i) {
        const auto& [id, bytes] = request->chunks[i];
        require(sha256_of(bytes) == id, "a published chunk does not hash to its id");
        require(bytes.size() <= limits.max_chunk_bytes, "a published chunk is over max_chunk_bytes");
        const auto& item = o.at("chunks").as_array()[i].as_object();
        require(item.at("id").as_string() == id.to_string(), "a chunk id is not the canonical text it was read from");
        auto decoded = base64_decode(item.at("data").as_string());
        require(decoded && *decoded == bytes, "chunk bytes differ from their base64");
    }
    require(request->transactions.size() == array_size(o, "transactions"), "transaction count differs from the body");
    for (std::size_t i = 0; i < request->transactions.size(); ++i) {
        const auto& t = request->transactions[i];
        const auto& item = o.at("transactions").as_array()[i].as_object();
        check_uuid(t.id, item, "id");
        check_transaction(t, item, limits.max_chunks_per_transaction);
    }
    auto* head = o.if_contains("head");
    if (!head || head->is_null()) require(!request->head, "a head appeared from nowhere");
    else require(request->head && head->as_string() == request->head->to_string(), "head differs from the body");
}

void fuzz_transaction(std::string_view body, const api::service_limits& limits) {
    auto t = api::json::parse_transaction(transaction_id, body, limits.max_chunks_per_transaction);
    if (!t) return;
    require(t->id == transaction_id, "the transaction id is not the one given");
    check_transaction(*t, reread(body), limits.max_chunks_per_transaction);
}

void fuzz_missing_query(std::string_view body, const api::service_limits& limits) {
    auto ids = api::json::parse_missing_query(body, limits.max_missing_query);
    if (!ids) return;
    check_digests(*ids, reread(body).at("chunks"), limits.max_missing_query);
}

void fuzz_head_update(std::string_view body) {
    auto head = api::json::parse_head_update(body);
    if (!head) return;
    check_uuid(*head, reread(body), "head");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto limits = fuzz_limits();
    std::string_view body(reinterpret_cast<const char*>(data), size);
    fuzz_publish(body, limits);
    fuzz_transaction(body, limits);
    fuzz_missing_query(body, limits);
    fuzz_head_update(body);
    return 0;
}
