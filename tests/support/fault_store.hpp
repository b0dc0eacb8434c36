// A fresh data directory whose store goes through a fault_fs: the options
// to open it with, and the file system to inject faults into. Single owner;
// the fault_fs itself is thread-safe.
#pragma once

#include "support/fault_fs.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/storage/log_store.hpp>

#include <rocksdb/env.h>

#include <memory>

namespace chunklog::test {

struct fault_store_dir {
    temp_dir dir;
    std::shared_ptr<fault_fs> fs = std::make_shared<fault_fs>();
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
    storage::store_options options{dir.path() / "db"};

    fault_store_dir() { options.env = env.get(); }
};

}  // namespace chunklog::test
