// chunklogd's maintenance commands, beside serving:
//   chunklogd verify  --data-dir D | --store S
//   chunklogd backup  --data-dir D --to DIR
//   chunklogd restore --from DIR --data-dir D
//   chunklogd migrate --from rocksdb:DIR --to postgresql://...
// Each runs to completion and returns the process exit status (0 done and
// clean, 1 a failure or a store with problems, 2 a usage error), printing
// its report to `out` and errors to `err`. Safe beside a running server on
// the same store. Single-threaded.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace chunklog {

// The exit status when args[0] names a maintenance command; nullopt otherwise.
std::optional<int> run_maintenance_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace chunklog
