#include <chunklog/storage/log_cursor.hpp>

#include <chunklog/storage/log_store.hpp>

namespace chunklog::storage {

log_cursor::log_cursor(std::unique_ptr<source> s) : source_(std::move(s)) {}
log_cursor::~log_cursor() = default;
log_cursor::log_cursor(log_cursor&&) noexcept = default;

const head_state& log_cursor::head() const { return source_->head(); }
const snapshot_record* log_cursor::snapshot() const { return source_->snapshot(); }
std::uint64_t log_cursor::position() const { return source_->position(); }
outcome<std::optional<transaction_record>> log_cursor::next() { return source_->next(); }
outcome<std::optional<uuid>> log_cursor::origin_parent(const transaction_record& t) {
    return source_->origin_parent(t);
}
outcome<std::optional<std::string>> log_cursor::chunk(const digest& id) { return source_->chunk(id); }
outcome<std::optional<std::string>> log_cursor::cached_chunk(const digest& id) { return source_->cached_chunk(id); }

}  // namespace chunklog::storage
