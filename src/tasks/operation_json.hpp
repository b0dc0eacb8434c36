// One task operation as the JSON object of the chunk format (docs/operations.md),
// shared by the operation chunks and the replica's pending-operation records.
// Pure functions; thread-safe.
#pragma once

#include <chunklog/tasks/operations.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace chunklog {

// {"op": "create"|"delete"|"update", "task", and for an update "property",
// "value" (string or null), "timestamp"}.
boost::json::object operation_to_json(const operation& op);
// The reverse; errc::bad_request naming what is wrong.
outcome<operation> operation_from_json(const boost::json::value& v);

}  // namespace chunklog
