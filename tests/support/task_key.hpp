// The encryption secret of the tests' task lists, the key the replicas of
// the unit tests sync with (derived once: PBKDF2 with 600,000 iterations
// costs about a third of a second), and readers of what they write.
// Thread-safe (a function-local static).
#pragma once

#include "support/outcome_printer.hpp"

#include <chunklog/tasks/envelope.hpp>
#include <chunklog/tasks/taskchampion.hpp>

#include <doctest/doctest.h>

#include <string>

namespace chunklog::test {

inline const std::string task_secret = "the shared encryption secret of the tests";

inline const sealing_key& task_key() {
    static const sealing_key key = sealing_key::derive(task_secret, *uuid::parse("0666d464-418a-4a08-ad53-6f15c78270cd"));
    return key;
}

// The operations of one version (a sealed history segment after `parent`).
inline std::vector<operation> version_operations(const sealing_key& key, const uuid& parent, std::string_view chunk) {
    auto plain = key.open(chunk, parent);
    REQUIRE(plain);
    auto ops = decode_history_segment(*plain);
    REQUIRE(ops);
    return *ops;
}

// The tasks of a snapshot chunk sealed at transaction `at`.
inline task_set snapshot_tasks(const sealing_key& key, const uuid& at, std::string_view chunk) {
    auto plain = key.open(chunk, at);
    REQUIRE(plain);
    auto tasks = decode_taskchampion_snapshot(*plain);
    REQUIRE(tasks);
    return *tasks;
}

}  // namespace chunklog::test
