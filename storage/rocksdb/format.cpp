// The store format of a data directory (keys.hpp): checked at open, and
// upgraded in place from an older format.
//
// Format 1 (every release before garbage collection; no format record) had
// 8-byte 'C' values (the size only), 16-byte 'Q' values (the id only) and no
// 'U', 'R', 'P' or 'F' keys. The upgrade walks the metadata family once, in
// batches of a bounded number of keys: a 'C' value gets a stored time and a
// 'Q' value a commit time (both the time of the upgrade: the store did not
// record them, and "now" makes the grace period and the history retention
// start afresh rather than remove anything at once), and each transaction
// adds its chunk references and, when not committed, its 'U' record. Each
// batch also records the last key it converted in the accounts family, so
// an upgrade cut short (a crash, a full disk) resumes where it stopped and
// counts no reference twice. The last write records the current format,
// synced. Format 2 becomes 3 by recording it (record_format_3).
#include "storage/rocksdb/log_store_impl.hpp"

#include <iostream>

namespace chunklog::storage {
namespace {

constexpr std::size_t upgrade_batch_keys = 1000;

class upgrade_from_1 {
public:
    upgrade_from_1(rocksdb_store::impl& store, std::int64_t now) : s_(store), h_(*store.handle), now_(now) {}

    // Converts what is left to convert; returns how many keys it looked at.
    outcome<std::uint64_t> run(std::string after) {
        std::uint64_t seen = 0;
        for (;;) {
            std::unique_ptr<rocksdb::Iterator> it(h_.db().NewIterator(rocksdb::ReadOptions{}, h_.meta()));
            if (after.empty()) it->SeekToFirst();
            else it->Seek(after + std::string(1, '\0'));
            rocksdb::WriteBatch batch;
            std::size_t n = 0;
            for (; it->Valid() && n < upgrade_batch_keys; it->Next(), ++n) {
                if (auto done = convert(it->key().ToStringView(), it->value().ToStringView(), batch); !done)
                    return done.error();
                after = it->key().ToString();
            }
            if (!it->status().ok()) return db_handle::read_error(it->status());
            if (n == 0) return seen;
            seen += n;
            batch.Put(h_.accounts(), keys::upgrade_cursor(), after);
            if (auto c = h_.commit_unsynced(batch); !c) return c.error();
        }
    }

private:
    outcome<void> convert(std::string_view key, std::string_view value, rocksdb::WriteBatch& batch) {
        auto user = keys::key_user(key);
        auto t = keys::key_tag(key);
        if (!user || !t) return {};
        switch (*t) {
        case keys::tag::chunk_size:
            if (value.size() == 8) batch.Put(h_.meta(), key, keys::encode_chunk_meta({keys::get_be64(value), now_}));
            return {};
        case keys::tag::chain:
            if (value.size() == uuid::size)
                batch.Put(h_.meta(), key, keys::encode_chain_entry({*uuid::from_bytes(value), now_}));
            return {};
        case keys::tag::transaction: return convert_transaction(*user, key, value, batch);
        default: return {};
        }
    }

    outcome<void> convert_transaction(const uuid& user, std::string_view key, std::string_view value,
                                      rocksdb::WriteBatch& batch) {
        auto id = uuid::from_bytes(key.substr(uuid::size + 1));
        auto t = id ? keys::decode_transaction(*id, value) : std::nullopt;
        if (!t) return make_error(errc::internal, "corrupt transaction record");
        // The chain entry may be converted already (in an earlier batch): its id comes first either way.
        auto entry = h_.get(h_.meta(), keys::chain(user, t->seq));
        if (!entry) return entry.error();
        bool committed = *entry && (*entry)->size() >= uuid::size && (*entry)->substr(0, uuid::size) == id->raw();
        if (!committed) batch.Put(h_.meta(), keys::uncommitted(user, *id), keys::encode_time(now_));
        s_.add_references(user, t->chunks, 1, batch);
        return {};
    }

    rocksdb_store::impl& s_;
    db_handle& h_;
    std::int64_t now_;
};

void tell(const std::function<void(std::string_view)>& log_info, const std::string& message) {
    if (log_info) log_info(message);
    else std::cerr << "chunklog: " << message << '\n';
}

}  // namespace

// Format 3 only adds chunk file references, which a format 2 store has
// none of: recording the number is the whole upgrade (after which an older
// chunklogd, which would read a reference as the chunk's bytes, refuses it).
outcome<void> rocksdb_store::impl::record_format_3(const std::function<void(std::string_view)>& log_info) {
    rocksdb::WriteBatch batch;
    batch.Put(handle->accounts(), keys::format_version(), keys::encode_u64(3));
    if (auto c = handle->commit(batch); !c) return c.error();
    tell(log_info, "the data directory is at store format 3 now (from 2: large chunks may be kept in files)");
    return {};
}

outcome<void> rocksdb_store::impl::open_format(const std::function<void(std::string_view)>& log_info) {
    const auto current = std::to_string(keys::current_format);
    auto recorded = handle->get(handle->accounts(), keys::format_version());
    if (!recorded) return recorded.error();
    if (*recorded) {
        auto version = keys::decode_u64(**recorded);
        if (!version) return make_error(errc::internal, "unreadable store format record");
        if (*version == keys::current_format) return {};
        if (*version > keys::current_format)
            return make_error(errc::internal, "the data directory has store format " + std::to_string(*version) +
                                                  ", written by a newer chunklogd; this one reads format " + current +
                                                  " at most. Run a newer chunklogd (nothing was changed).");
        if (*version == 2) return record_format_3(log_info);
        return make_error(errc::internal, "unknown store format " + std::to_string(*version));
    }

    // No format record: format 1 (or a new, empty directory).
    auto cursor = handle->get(handle->accounts(), keys::upgrade_cursor());
    if (!cursor) return cursor.error();
    bool has_data = false;
    {
        std::unique_ptr<rocksdb::Iterator> it(db().NewIterator(rocksdb::ReadOptions{}, handle->meta()));
        it->SeekToFirst();
        if (!it->status().ok()) return db_handle::read_error(it->status());
        has_data = it->Valid();
    }
    if (has_data)
        tell(log_info, std::string(*cursor ? "resuming the upgrade of" : "upgrading") +
                           " the data directory from store format 1 to " + current + " (nothing is lost; "
                           "it may take a while on a large store)");
    auto seen = upgrade_from_1(*this, now()).run(cursor->value_or(std::string{}));
    if (!seen) return seen.error();
    rocksdb::WriteBatch batch;
    batch.Put(handle->accounts(), keys::format_version(), keys::encode_u64(keys::current_format));
    batch.Delete(handle->accounts(), keys::upgrade_cursor());
    if (auto c = handle->commit(batch); !c) return c.error();
    if (has_data)
        tell(log_info, "the data directory is at store format " + current + " now (" + std::to_string(*seen) +
                           " records looked at)");
    return {};
}

}  // namespace chunklog::storage
