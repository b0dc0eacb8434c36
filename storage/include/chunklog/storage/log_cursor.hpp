// log_cursor: reads one user's committed transactions after a starting point,
// in ascending seq, and their chunks, all from one consistent view of the
// store taken when the cursor opens (a RocksDB snapshot, a PostgreSQL
// repeatable-read transaction), so a streamed page is consistent however
// long it takes. Single owner; not thread-safe. Must not outlive its
// log_store: destroying a RocksDB store with a cursor open aborts the process.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/records.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chunklog::storage {

struct snapshot_record;

class log_cursor {
public:
    // What a store implements to give a cursor (the members below, as documented there).
    class source {
    public:
        virtual ~source() = default;
        virtual const head_state& head() const = 0;
        virtual const snapshot_record* snapshot() const = 0;
        virtual std::uint64_t position() const = 0;
        virtual outcome<std::optional<transaction_record>> next() = 0;
        virtual outcome<std::optional<uuid>> origin_parent(const transaction_record& t) = 0;
        virtual outcome<std::optional<std::string>> chunk(const digest& id) = 0;
        virtual outcome<std::optional<std::string>> cached_chunk(const digest& id) = 0;
    };

    explicit log_cursor(std::unique_ptr<source> s);
    ~log_cursor();
    log_cursor(log_cursor&&) noexcept;

    // HEAD as of the snapshot.
    const head_state& head() const;
    // The user's snapshot the page starts with (opened with from_snapshot,
    // when one applies); next() goes on after it. Null otherwise.
    const snapshot_record* snapshot() const;
    // The seq of the last transaction returned by next() (or of the start).
    std::uint64_t position() const;
    // The next committed transaction, or nullopt at the snapshot's HEAD.
    outcome<std::optional<transaction_record>> next();
    // The origin parent of `t` (protocol section 12) as of the snapshot:
    // set only for the first version, when a TaskChampion client sent it
    // with a parent other than nil.
    outcome<std::optional<uuid>> origin_parent(const transaction_record& t);
    // A chunk's bytes as of the snapshot.
    outcome<std::optional<std::string>> chunk(const digest& id);
    // The same from memory only: nullopt when the bytes are on disk (every
    // chunk of a committed transaction is stored).
    outcome<std::optional<std::string>> cached_chunk(const digest& id);

private:
    std::unique_ptr<source> source_;
};

}  // namespace chunklog::storage
