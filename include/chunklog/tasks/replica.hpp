// replica: an offline-first task replica in a local directory (embedded
// RocksDB), synced through a chunklog server in TaskChampion's formats, so
// that it shares one encrypted task list with Taskwarrior 3 (each
// transaction one version: a sealed history segment; the snapshot a sealed
// TaskChampion snapshot; see tasks/taskchampion.hpp and docs/operations.md).
// A log in the plaintext format of earlier releases is still read, and the
// first sync that meets it writes a snapshot in the new format at HEAD.
//
// Every local change is recorded as operations and applied to the local
// tasks in one synced write, with no server needed. sync() pulls every
// transaction since the last synced one, transforms the local unsynced
// operations over the incoming ones (see operations.hpp), applies the
// result, and publishes the local operations as versions of at most about
// 1 MB (TaskChampion's batches) with the HEAD advance, in one request,
// repeating on conflict. A publish in flight is recorded
// before it is sent, so a replica killed mid-sync neither loses nor repeats
// operations. Tasks keep a working set of small stable numbers for display
// (local, never synced).
//
// Snapshots (protocol section 8, format in docs/operations.md): a replica
// that has never synced starts from the server's snapshot, in the same pass
// as the transactions after it; one whose last synced transaction fell into
// truncated history (errc::history_truncated) rebuilds its tasks from the
// snapshot and re-applies its unsynced operations on top, keeping them to
// publish. When a publish answers Snapshot-Urgency high, sync() writes a
// snapshot of the synced tasks before it returns; when low, at the end of
// a later sync that has nothing to publish (snapshot_wanted() says one is
// owed). Each unsynced operation is its own record, so a commit costs the
// same however many are waiting.
//
// One replica object per directory and process (RocksDB locks the
// directory); not thread-safe.
#pragma once

#include <chunklog/client.hpp>
#include <chunklog/tasks/envelope.hpp>
#include <chunklog/tasks/operations.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace chunklog {

struct sync_report {
    std::size_t pulled_transactions = 0;
    std::size_t applied_operations = 0;    // server operations applied locally
    std::size_t published_operations = 0;  // local operations now on the server
    unsigned conflicts = 0;                // publishes refused and retried
    head_state head;                       // the last synced transaction and its seq
    bool from_snapshot = false;            // the tasks were rebuilt from the server's snapshot
    // The snapshot this sync wrote, or the later one the server kept instead.
    std::optional<snapshot_position> snapshot;
    // Why writing an owed snapshot failed; the sync itself succeeded, and a
    // later sync tries again.
    std::optional<error> snapshot_error;
};

class replica {
public:
    // Opens or creates the replica; waits up to `lock_wait` while another
    // process holds it (then errc::unavailable). Any other failure to open
    // is errc::internal at once.
    static outcome<std::unique_ptr<replica>> open(const std::filesystem::path& dir,
                                                  std::chrono::milliseconds lock_wait = std::chrono::seconds(10));
    ~replica();

    // Records the operations and applies them, atomically and durably.
    outcome<void> commit(const std::vector<operation>& ops);

    outcome<task_set> tasks() const;
    outcome<std::optional<task_properties>> task(const uuid& id) const;
    // Working set: entry i is the task numbered i + 1 (nullopt for a free number).
    outcome<std::vector<std::optional<uuid>>> working_set() const;
    outcome<std::size_t> pending_operations() const;
    outcome<uuid> last_synced() const;
    // The snapshot the server asked for that this replica has not written
    // yet (none when it owes none): the next sync writes it, a `low` one only
    // if that sync has nothing to publish.
    outcome<snapshot_urgency> snapshot_wanted() const;

    // Syncs with `key`, derived from the user's encryption secret and id
    // (every replica of the task list, Taskwarrior's included, shares it).
    // A log that does not decrypt with it is refused before anything changes.
    outcome<sync_report> sync(client& server, const sealing_key& key);

    struct impl;

private:
    explicit replica(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

// Default directory: $CHUNKLOG_REPLICA, else $XDG_DATA_HOME/chunklog/replica,
// else ~/.local/share/chunklog/replica.
std::filesystem::path default_replica_dir();

}  // namespace chunklog
