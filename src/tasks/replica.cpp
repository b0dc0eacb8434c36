#include <chunklog/tasks/replica.hpp>
#include <chunklog/sha256.hpp>

#include "tasks/replica_impl.hpp"

#include <cstdlib>
#include <set>
#include <thread>

namespace chunklog {

std::filesystem::path default_replica_dir() {
    if (const char* dir = std::getenv("CHUNKLOG_REPLICA"); dir && *dir) return dir;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data && *data)
        return std::filesystem::path(data) / "chunklog" / "replica";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home ? home : ".") / ".local" / "share" / "chunklog" / "replica";
}

namespace {

// Whether opening failed only because the directory's LOCK is held, by
// another process or by another replica object in this one. RocksDB 7.8 says
// so with a plain IOError (no subcode, never Busy) whose text names the LOCK
// file: "While lock file: DIR/LOCK: <errno text>" when the fcntl lock is taken
// elsewhere, "lock hold by current process, ...: DIR/LOCK: ..." when this
// process has it. Other failures on that file ("while open a file for lock:
// DIR/LOCK: Is a directory", a read-only disk) are not worth waiting for.
bool lock_is_held(const rocksdb::Status& s, const std::filesystem::path& dir) {
    if (!s.IsIOError() || s.subcode() != rocksdb::Status::kNone || s.getState() == nullptr) return false;
    const std::string lock_file = dir.string() + "/LOCK";  // as RocksDB names it
    std::error_code ec;
    if (!std::filesystem::is_regular_file(lock_file, ec)) return false;
    const std::string_view text = s.getState();
    return text.starts_with("While lock file: " + lock_file + ": ") ||
           (text.starts_with("lock hold by current process") && text.find(": " + lock_file + ": ") != text.npos);
}

}  // namespace

replica::replica(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
replica::~replica() = default;

outcome<std::unique_ptr<replica>> replica::open(const std::filesystem::path& dir, std::chrono::milliseconds lock_wait) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(errc::internal, "cannot create " + dir.string() + ": " + ec.message());
    rocksdb::Options options;
    options.create_if_missing = true;
    auto deadline = std::chrono::steady_clock::now() + lock_wait;
    for (;;) {
        rocksdb::DB* raw = nullptr;
        auto s = rocksdb::DB::Open(options, dir.string(), &raw);
        if (s.ok()) {
            auto p = std::make_unique<impl>();
            p->db.reset(raw);
            if (auto upgraded = p->upgrade(); !upgraded)
                return make_error(upgraded.error().code,
                                  "cannot open replica " + dir.string() + ": " + upgraded.error().message);
            return std::unique_ptr<replica>(new replica(std::move(p)));
        }
        if (!lock_is_held(s, dir))
            return make_error(errc::internal, "cannot open replica " + dir.string() + ": " + s.ToString());
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(errc::unavailable, "replica " + dir.string() + " is in use: " + s.ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

outcome<void> replica::commit(const std::vector<operation>& ops) {
    auto next = impl_->next_pending_key();
    if (!next) return next.error();
    task_set touched_tasks;
    std::set<uuid> seen;
    std::vector<uuid> touched;  // in the order the operations touch them: new tasks get numbers in that order
    rocksdb::WriteBatch batch;
    for (const auto& op : ops) {
        if (seen.insert(op.task).second) {
            touched.push_back(op.task);
            auto t = impl_->task(op.task);
            if (!t) return t.error();
            if (*t) touched_tasks.emplace(op.task, std::move(**t));
        }
        apply_operation(touched_tasks, op);
        batch.Put(replica_keys::pending((*next)++), encode_pending(op));
    }
    if (auto staged = impl_->stage_tasks(batch, touched_tasks, touched); !staged) return staged;
    return impl_->write(batch);
}

outcome<task_set> replica::tasks() const { return impl_->all_tasks(); }
outcome<std::optional<task_properties>> replica::task(const uuid& id) const { return impl_->task(id); }
outcome<std::vector<std::optional<uuid>>> replica::working_set() const { return impl_->working_set(); }
outcome<uuid> replica::last_synced() const { return impl_->base(); }
outcome<std::size_t> replica::pending_operations() const { return impl_->pending_count(); }
outcome<snapshot_urgency> replica::snapshot_wanted() const { return impl_->wanted_snapshot(); }

}  // namespace chunklog
