// The PostgreSQL store's schema: its tables, and the version recorded in
// chunklog_schema. prepare_schema creates the schema in an empty database,
// upgrades an older version in place, and refuses a newer one; one node at
// a time (an advisory lock), in one transaction. Blocking; any thread.
#pragma once

#include "storage/postgresql/pg.hpp"

#include <functional>

namespace chunklog::storage::pg {

inline constexpr std::int64_t schema_version = 2;

// Advisory lock keys (pg_advisory_lock): one namespace for chunklog.
inline constexpr std::int64_t schema_lock_key = 0x63686b6c'00000001;  // "chkl", 1
inline constexpr std::int64_t gc_lock_key = 0x63686b6c'00000002;

outcome<void> prepare_schema(connection& c, const std::function<void(std::string_view)>& log_info);

}  // namespace chunklog::storage::pg
