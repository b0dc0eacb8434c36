// How the task replica reads and writes a user's log on the server, in
// TaskChampion's formats so that Taskwarrior 3 shares it: each transaction is
// one version (one chunk: a history segment sealed with the encryption key,
// bound to the transaction's parent), and the snapshot is one chunk (a
// TaskChampion snapshot sealed with the key, bound to its own transaction).
// Logs written by earlier releases (the plaintext chunk formats of
// tasks/operations.hpp) are still read, and reported as legacy so that the
// replica can move the user to the new format. Errors name the transaction
// and say what to do. Pure functions; thread-safe.
#pragma once

#include <chunklog/client.hpp>
#include <chunklog/tasks/envelope.hpp>
#include <chunklog/tasks/operations.hpp>

#include <span>
#include <string>
#include <vector>

namespace chunklog {

struct read_operations {
    std::vector<operation> ops;
    bool legacy = false;  // written in the plaintext format of earlier releases
};

outcome<read_operations> read_version(const sealing_key& key, const pulled_transaction& t);

struct read_tasks {
    task_set tasks;
    bool legacy = false;
};

outcome<read_tasks> read_snapshot(const sealing_key& key, const pulled_snapshot& s);

// The snapshot chunk of `tasks`, the state after transaction `at`.
std::string seal_snapshot(const sealing_key& key, const task_set& tasks, const uuid& at);

// The unsynced operations as versions chained on `base` (TaskChampion's
// batches of at most about 1 MB), ready to publish: one chunk per
// transaction, in order; the last transaction is the new HEAD.
publish_batch seal_versions(const sealing_key& key, const uuid& base, std::span<const operation> ops);

}  // namespace chunklog
