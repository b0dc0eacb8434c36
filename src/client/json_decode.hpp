// Checked decoding of the server's JSON answers for chunklog::client. Every
// accessor returns an outcome; any shape the protocol does not allow (bad
// JSON, a wrong type, a missing field, a malformed id, a negative or
// fractional count) becomes errc::internal "malformed server response: ...".
// Nothing here throws, and no id that fails to parse is ever skipped.
// Stateless functions; thread-safe.
#pragma once

#include <chunklog/client.hpp>
#include <chunklog/errors.hpp>
#include <chunklog/records.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace chunklog::detail {

namespace json = boost::json;

// errc::internal "malformed server response: <what>".
error malformed(std::string_view what);

// The text as one JSON object.
outcome<json::object> parse_object(std::string_view text);

// One field of `o`, checked: present and of the right type and form.
outcome<const json::object*> object_at(const json::object& o, std::string_view key);
outcome<std::string_view> string_at(const json::object& o, std::string_view key);
outcome<std::uint64_t> count_at(const json::object& o, std::string_view key);  // an integer >= 0
outcome<bool> bool_at(const json::object& o, std::string_view key);
outcome<uuid> uuid_at(const json::object& o, std::string_view key);
outcome<std::vector<uuid>> uuids_at(const json::object& o, std::string_view key);
outcome<std::vector<digest>> digests_at(const json::object& o, std::string_view key);

// The records of the protocol: {"head", "seq"}; {"id", "parent", "seq",
// "chunks"}; GET /0.1/{user}'s summary.
outcome<head_state> decode_head(const json::object& o);
outcome<transaction_record> decode_transaction(const json::object& o);
outcome<user_summary> decode_summary(const json::object& o);
// A snapshot's position {"transaction", "seq"} (a transaction, seq >= 1);
// GET snapshot's answer, which adds "chunks" and "created".
outcome<snapshot_position> decode_snapshot_position(const json::object& o);
outcome<snapshot_info> decode_snapshot(const json::object& o);
// A token: {"id", "label", "scope", "created", "expires"} plus "token" (the
// secret) when `with_secret`.
outcome<token_info> decode_token(const json::object& o, bool with_secret);

// The chunklog error of an answer with status >= 400: its code, message and
// the extra fields ("head", "missing", "snapshot"). A body that is not a protocol error
// is errc::internal, except for the statuses that name one code (401, 403,
// 429, 503), which a proxy may answer in its own words.
error decode_error(unsigned status, std::string_view body);

}  // namespace chunklog::detail
