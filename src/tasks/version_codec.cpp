#include "tasks/version_codec.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/tasks/taskchampion.hpp>

namespace chunklog {
namespace {

constexpr char envelope_marker = 0x01;  // a sealed chunk's first byte; plaintext JSON starts with '{'

error not_a_task_list(const std::string& where) {
    return make_error(errc::bad_request,
                      where + " holds data that is not a task list (written with `chunklog push`, perhaps): a task "
                              "list needs a user of its own; sync the replica with another user (--user)");
}

error does_not_open(const std::string& where, const error& e) {
    return make_error(errc::bad_request, where + ": " + e.message +
                                             "; every replica of a task list (Taskwarrior's too) needs the same "
                                             "encryption secret: check it (chunklog task config encryption-secret)");
}

std::string describe(const uuid& transaction) { return "transaction " + transaction.to_string(); }

}  // namespace

outcome<read_operations> read_version(const sealing_key& key, const pulled_transaction& t) {
    auto where = describe(t.record.id);
    if (t.chunks.size() == 1 && !t.chunks[0].empty() && t.chunks[0][0] == envelope_marker) {
        // A first version sent after another server's chain was sealed to its origin parent.
        auto plain = key.open(t.chunks[0], t.origin_parent.value_or(t.record.parent));
        if (!plain) return does_not_open(where, plain.error());
        auto ops = decode_history_segment(*plain);
        if (!ops) return make_error(errc::bad_request, where + ": " + ops.error().message);
        return read_operations{std::move(*ops), false};
    }
    read_operations legacy{{}, true};
    for (auto chunk : t.chunks) {
        auto ops = decode_operations(chunk);
        if (!ops) return not_a_task_list(where);
        legacy.ops.insert(legacy.ops.end(), ops->begin(), ops->end());
    }
    return legacy;
}

outcome<read_tasks> read_snapshot(const sealing_key& key, const pulled_snapshot& s) {
    auto where = "the snapshot at " + describe(s.position.transaction);
    if (s.chunks.size() == 1 && !s.chunks[0].empty() && s.chunks[0][0] == envelope_marker) {
        auto plain = key.open(s.chunks[0], s.position.transaction);
        if (!plain) return does_not_open(where, plain.error());
        auto tasks = decode_taskchampion_snapshot(*plain);
        if (!tasks) return make_error(errc::bad_request, where + ": " + tasks.error().message);
        return read_tasks{std::move(*tasks), false};
    }
    auto tasks = decode_snapshot(s.chunks);
    if (!tasks) return not_a_task_list(where);
    return read_tasks{std::move(*tasks), true};
}

std::string seal_snapshot(const sealing_key& key, const task_set& tasks, const uuid& at) {
    return key.seal(encode_taskchampion_snapshot(tasks), at);
}

publish_batch seal_versions(const sealing_key& key, const uuid& base, std::span<const operation> ops) {
    publish_batch batch;
    uuid parent = base;
    for (const auto& version : batch_into_versions(ops)) {
        auto chunk = key.seal(encode_history_segment(version), parent);
        transaction_record t{uuid::random(), parent, 0, {sha256_of(chunk)}};
        batch.chunks.push_back(std::move(chunk));
        batch.transactions.push_back(t);
        parent = t.id;
    }
    batch.head = parent;
    return batch;
}

}  // namespace chunklog
