// JSON request bodies in, JSON response bodies out, for the core endpoints.
// Decoding enforces the protocol's types: a malformed id is invalid_id, any
// other shape problem is bad_request; unknown fields are ignored. Pure
// functions; thread-safe.
#pragma once

#include "api/service_options.hpp"

#include <chunklog/errors.hpp>
#include <chunklog/records.hpp>
#include <chunklog/storage/log_store.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace chunklog::api::json {

outcome<boost::json::object> parse_object(std::string_view body);
// A required string field holding a canonical UUID.
outcome<uuid> uuid_field(const boost::json::object& o, std::string_view name);
// A required array of chunk ids, at most max_items long.
outcome<std::vector<digest>> digest_array_field(const boost::json::object& o, std::string_view name,
                                                std::size_t max_items);

// PUT head: {"head": id}
outcome<uuid> parse_head_update(std::string_view body);
// PUT transactions/{id}: {"parent": id, "chunks": [ids], "seq"?: n}
outcome<storage::new_transaction> parse_transaction(const uuid& id, std::string_view body,
                                                    std::size_t max_chunks);

// POST chunks/missing: {"chunks": [ids]}, at most max_ids of them.
outcome<std::vector<digest>> parse_missing_query(std::string_view body, std::size_t max_ids);
// POST publish: {"chunks": [{"id", "data"}], "transactions": [{"id", "parent", "chunks"}], "head"?}.
// Both arrays may be omitted (empty). Chunk data is base64 and must hash to its id.
outcome<storage::publish_request> parse_publish(std::string_view body, const service_limits& limits);

// PUT snapshots/{id}: {"chunks": [ids]}, at most max_chunks of them.
outcome<std::vector<digest>> parse_snapshot(std::string_view body, std::size_t max_chunks);

boost::json::object head_object(const head_state& h);
// {"transaction", "seq"}
boost::json::object snapshot_ref_object(const storage::snapshot_ref& s);
std::string_view urgency_name(storage::snapshot_urgency u);
// {"id", "parent", "seq", "chunks"}, plus "origin_parent" when given (protocol section 12).
boost::json::object transaction_object(const transaction_record& t, const std::optional<uuid>& origin_parent = {});
boost::json::array id_array(const std::vector<uuid>& ids);

}  // namespace chunklog::api::json
