// log_store::open: the store options.kind names.
#include <chunklog/storage/log_store.hpp>

#include "storage/postgresql/postgresql_store.hpp"
#include "storage/rocksdb/rocksdb_store.hpp"

namespace chunklog::storage {

outcome<std::unique_ptr<log_store>> log_store::open(const store_options& options) {
    switch (options.kind) {
    case store_kind::rocksdb:
        return rocksdb_store::open(options);
    case store_kind::postgresql:
        return postgresql_store::open(options);
    }
    return make_error(errc::internal, "unknown store kind");
}

}  // namespace chunklog::storage
