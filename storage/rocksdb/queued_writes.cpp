// rocksdb_store's common writes, all through the commit pipeline: queued
// (publish_queued, put_chunk_queued: the caller goes on, a callback gets the
// result) or waited for (publish, put_chunk, put_transaction, advance_head:
// the calling thread waits, as log_store promises).
#include "storage/rocksdb/log_store_impl.hpp"

#include <future>

namespace chunklog::storage {
namespace {

struct chunk_payload {
    digest id;
    std::string_view bytes;  // the caller keeps it until the callback
};

template <typename T, typename Payload>
void queue_write(rocksdb_store::impl& s, const uuid& user, bool needs_head, Payload payload,
                 typename store_write<T, Payload>::planner plan,
                 relied_ids (*ids_of)(const Payload&), std::function<void(outcome<T>)> done) {
    if (auto w = s.check_writable(); !w) return done(w.error());
    auto write = std::make_unique<store_write<T, Payload>>(s.locks, std::move(payload), std::move(plan), std::move(done));
    write->user = user;
    write->needs_head = needs_head;
    auto relied = ids_of(write->payload());
    write->ids = std::move(relied.ids);
    write->shared_ids = std::move(relied.parents);
    s.pipeline->submit(std::move(write));
}

// Runs `queue` with a callback and waits for the result it gets.
template <typename T, typename Queue>
outcome<T> wait_for(Queue queue) {
    std::promise<outcome<T>> promise;
    auto result = promise.get_future();
    queue([&promise](outcome<T> r) { promise.set_value(std::move(r)); });
    return result.get();
}

relied_ids chunk_ids(const chunk_payload& p) { return {{p.id.raw()}, {}}; }

relied_ids publish_ids(const std::shared_ptr<const publish_request>& r) { return rocksdb_store::impl::ids_of(*r); }

relied_ids transaction_ids(const new_transaction* const& t) {
    relied_ids relied{{t->id.raw()}, {}};
    if (!t->parent.is_root()) relied.parents.push_back(t->parent.raw());
    for (const auto& c : t->chunks) relied.ids.push_back(c.raw());
    return relied;
}

relied_ids target_ids(const uuid& target) { return {{target.raw()}, {}}; }

void queue_publish(rocksdb_store::impl& s, const uuid& user, std::shared_ptr<const publish_request> request,
                   std::function<void(outcome<publish_result>)> done) {
    queue_write<publish_result>(
        s, user, true, std::move(request),
        [&s, user](const std::shared_ptr<const publish_request>& r, rocksdb::WriteBatch& batch) {
            return s.plan_publish(user, *r, batch);
        },
        publish_ids, std::move(done));
}

void queue_chunk_value(rocksdb_store::impl& s, const uuid& user, const digest& id, std::string_view value,
                       std::uint64_t size, std::function<void(outcome<insert_result>)> done) {
    queue_write<insert_result>(
        s, user, false, chunk_payload{id, value},
        [&s, user, size](const chunk_payload& p, rocksdb::WriteBatch& batch) {
            return s.plan_put_chunk(user, p.id, p.bytes, size, batch);
        },
        chunk_ids, std::move(done));
}

// A large chunk: on a file writer thread (the caller goes on), its bytes go
// to a file of their own, synced, then the reference to that file is queued
// like any chunk. A chunk the user has already is only re-sent (nothing is
// written). A file that ends up referred to by nothing is removed: at once
// when the write found the chunk stored (a race with another PUT of it) or
// exceeded the quota, else (a failed commit, which a restart may yet find
// in the log) by the sweep when the store next opens.
void queue_chunk_file(rocksdb_store::impl& s, const uuid& user, const digest& id, std::string_view bytes,
                      std::function<void(outcome<insert_result>)> done) {
    s.file_writers->post([&s, user, id, bytes, done = std::move(done)]() mutable {
        auto stored = s.handle->get(s.handle->meta(), keys::chunk_size(user, id));
        if (!stored) return done(stored.error());
        if (*stored) return queue_chunk_value(s, user, id, bytes, bytes.size(), std::move(done));
        auto ref = s.files->write(user, id, bytes);
        if (!ref) {
            if (ref.error().code == errc::insufficient_storage)
                s.handle->enter_no_space_for_file(ref.error().message, bytes.size());
            return done(ref.error());
        }
        auto value = std::make_shared<const std::string>(encode_chunk_file_ref(*ref));
        queue_chunk_value(s, user, id, *value, ref->size,
                          [&s, user, id, value, number = ref->number, done = std::move(done)](outcome<insert_result> r) {
                              bool unreferenced = r ? *r == insert_result::already_present
                                                    : r.error().code == errc::quota_exceeded;
                              if (unreferenced) s.files->remove(user, id, number);
                              s.files->settled(number);
                              done(std::move(r));
                          });
    });
}

void queue_put_chunk(rocksdb_store::impl& s, const uuid& user, const digest& id, std::string_view bytes,
                     std::function<void(outcome<insert_result>)> done) {
    if (auto w = s.check_writable(); !w) return done(w.error());
    if (s.file_threshold != 0 && bytes.size() >= s.file_threshold)
        return queue_chunk_file(s, user, id, bytes, std::move(done));
    queue_chunk_value(s, user, id, bytes, bytes.size(), std::move(done));
}

}  // namespace

bool rocksdb_store::queues_writes() const noexcept { return true; }

void rocksdb_store::drain_writes() {
    impl_->file_writers->drain();  // their writes queue to the pipeline
    impl_->pipeline->drain();
}

log_store::write_group_stats rocksdb_store::write_groups() const {
    return {impl_->pipeline->groups(), impl_->pipeline->writes()};
}

void rocksdb_store::publish_queued(const uuid& user, publish_request request,
                                   std::function<void(outcome<publish_result>)> done) {
    queue_publish(*impl_, user, std::make_shared<const publish_request>(std::move(request)), std::move(done));
}

void rocksdb_store::put_chunk_queued(const uuid& user, const digest& id, std::string_view bytes,
                                     std::function<void(outcome<insert_result>)> done) {
    queue_put_chunk(*impl_, user, id, bytes, std::move(done));
}

outcome<publish_result> rocksdb_store::publish(const uuid& user, const publish_request& request) {
    // The caller waits, so the request is only borrowed.
    std::shared_ptr<const publish_request> borrowed(&request, [](const publish_request*) {});
    return wait_for<publish_result>([&](auto done) { queue_publish(*impl_, user, borrowed, std::move(done)); });
}

outcome<insert_result> rocksdb_store::put_chunk(const uuid& user, const digest& id, std::string_view bytes) {
    return wait_for<insert_result>([&](auto done) { queue_put_chunk(*impl_, user, id, bytes, std::move(done)); });
}

outcome<stored_transaction> rocksdb_store::put_transaction(const uuid& user, const new_transaction& t) {
    return wait_for<stored_transaction>([&](auto done) {
        queue_write<stored_transaction>(
            *impl_, user, false, &t,
            [this, user](const new_transaction* const& p, rocksdb::WriteBatch& batch) {
                return impl_->plan_put_transaction(user, *p, batch);
            },
            transaction_ids, std::move(done));
    });
}

outcome<head_state> rocksdb_store::advance_head(const uuid& user, const uuid& target) {
    return wait_for<head_state>([&](auto done) {
        queue_write<head_state>(
            *impl_, user, true, target,
            [this, user](const uuid& t, rocksdb::WriteBatch& batch) { return impl_->plan_advance_head(user, t, batch); },
            target_ids, std::move(done));
    });
}

}  // namespace chunklog::storage
