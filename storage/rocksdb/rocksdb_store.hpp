// rocksdb_store: the log store on an embedded RocksDB directory (the
// default store). Every write is one atomic RocksDB WriteBatch, synced to the
// write-ahead log before its result is given (unless sync is turned off).
// Chunk and transaction PUTs, HEAD advances and publishes go through one
// commit pipeline (commit_pipeline.hpp), which commits whatever is queued as
// one group with one sync and can complete them without a waiting thread
// (queues_writes()); the other writes share syncs through RocksDB's write
// group. Thread-safe, as log_store requires.
#pragma once

#include <chunklog/storage/log_store.hpp>

#include <memory>

namespace chunklog::storage {

class rocksdb_store final : public log_store {
public:
    // Opens (creating if needed) the store in options.dir.
    static outcome<std::unique_ptr<log_store>> open(const store_options& options);
    ~rocksdb_store() override;

    bool writable() const noexcept override;
    write_state writes() const noexcept override;
    outcome<head_state> head(const uuid& user) const override;
    outcome<user_summary> summary(const uuid& user) const override;
    outcome<user_overview> overview(const uuid& user) const override;
    outcome<std::optional<std::string>> chunk(const uuid& user, const digest& id) const override;
    outcome<std::optional<std::uint64_t>> chunk_size(const uuid& user, const digest& id) const override;
    outcome<cached_read<std::string>> cached_chunk(const uuid& user, const digest& id) const override;
    outcome<cached_read<std::uint64_t>> cached_chunk_size(const uuid& user, const digest& id) const override;
    outcome<std::vector<digest>> missing_chunks(const uuid& user, std::span<const digest> ids) const override;
    outcome<std::optional<transaction_record>> committed_transaction(const uuid& user, const uuid& id) const override;
    outcome<committed_listing> list_committed(const uuid& user, const uuid& from, std::size_t limit) const override;
    outcome<log_cursor> open_log(const uuid& user, const uuid& from, bool from_snapshot) const override;
    outcome<stored_snapshot> put_snapshot(const uuid& user, const uuid& id, std::span<const digest> chunks) override;
    outcome<std::optional<snapshot_record>> snapshot(const uuid& user) const override;
    outcome<snapshot_urgency> urgency(const uuid& user) const override;
    outcome<gc_result> collect_garbage(const std::atomic<bool>* stop) override;
    std::chrono::milliseconds gc_grace() const override;
    std::chrono::milliseconds history_retention() const override;
    outcome<insert_result> put_chunk(const uuid& user, const digest& id, std::string_view bytes) override;
    outcome<stored_transaction> put_transaction(const uuid& user, const new_transaction& t) override;
    outcome<head_state> advance_head(const uuid& user, const uuid& target) override;
    outcome<publish_result> publish(const uuid& user, const publish_request& request) override;
    bool queues_writes() const noexcept override;
    void publish_queued(const uuid& user, publish_request request,
                        std::function<void(outcome<publish_result>)> done) override;
    void put_chunk_queued(const uuid& user, const digest& id, std::string_view bytes,
                          std::function<void(outcome<insert_result>)> done) override;
    void drain_writes() override;
    write_group_stats write_groups() const override;
    outcome<publish_result> add_version(const uuid& user, const new_version& v) override;
    outcome<child_version> find_child_version(const uuid& user, const uuid& parent) const override;
    outcome<bool> put_version_snapshot(const uuid& user, const uuid& version, const digest& chunk, std::string_view bytes) override;
    outcome<std::optional<version_snapshot>> find_version_snapshot(const uuid& user) const override;
    outcome<std::optional<uuid>> origin_parent(const uuid& user, const uuid& id) const override;
    outcome<void> delete_user(const uuid& user) override;
    outcome<void> set_quota(const uuid& user, std::optional<std::uint64_t> bytes) override;
    outcome<std::optional<std::uint64_t>> user_quota(const uuid& user) const override;
    outcome<std::uint64_t> quota_in_force(const uuid& user) const override;
    outcome<std::optional<token_record>> find_token(const digest& secret_hash) const override;
    outcome<void> create_token(const digest& secret_hash, const token_record& token, bool only_if_first) override;
    outcome<std::vector<token_record>> list_tokens(const uuid& user) const override;
    outcome<digest> revoke_token(const uuid& user, std::string_view id) override;
    outcome<std::vector<uuid>> list_users(const std::optional<uuid>& after, std::size_t limit) const override;

    struct impl;

private:
    explicit rocksdb_store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace chunklog::storage
