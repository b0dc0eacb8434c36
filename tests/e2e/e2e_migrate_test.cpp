// End-to-end: `chunklogd migrate` as a process, from a RocksDB store that a
// real chunklogd filled over HTTP into PostgreSQL. A run killed with kill -9
// part way resumes on the next run, which skips the users already moved; a
// chunklogd on the PostgreSQL store then serves every user as the old one
// did (HEAD, chain, chunk bytes, snapshot, quota, an uncommitted transaction
// that can still be committed) and accepts the migrated tokens. A second
// migration is a no-op; a newer-format source, a destination already in use
// and a bad --to are refused with a clear message and exit status. Needs
// CHUNKLOG_TEST_POSTGRES (scripts/test.sh sets it).
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/store_check.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

#include "storage/rocksdb/keys.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

extern char** environ;

using namespace chunklog::test;
namespace fs = std::filesystem;

namespace {

// chunklogd run with `args` (no shell between), its stdout and stderr on
// one pipe read line by line; SIGKILLed when the object dies still running.
class chunklogd_run {
public:
    explicit chunklogd_run(const std::vector<std::string>& args) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        ::posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
        std::vector<std::string> all{CHUNKLOGD_PATH};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        int spawned = ::posix_spawn(&pid_, CHUNKLOGD_PATH, &actions, nullptr, argv.data(), environ);
        ::posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        fd_ = fds[0];
        REQUIRE(spawned == 0);
    }
    ~chunklogd_run() {
        if (pid_ > 0) kill_hard();
        ::close(fd_);
    }
    chunklogd_run(const chunklogd_run&) = delete;
    chunklogd_run& operator=(const chunklogd_run&) = delete;

    // The next line of output (without its newline); nullopt at the end.
    std::optional<std::string> line() {
        for (;;) {
            if (auto end = pending_.find('\n'); end != std::string::npos) {
                auto l = pending_.substr(0, end);
                pending_.erase(0, end + 1);
                return l;
            }
            char buf[4096];
            auto n = ::read(fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (pending_.empty()) return std::nullopt;
                return std::exchange(pending_, {});
            }
            pending_.append(buf, static_cast<std::size_t>(n));
            output_.append(buf, static_cast<std::size_t>(n));
        }
    }

    void kill_hard() {
        ::kill(pid_, SIGKILL);
        reap();
    }
    // Reads to the end and waits: the exit status (-1 when a signal ended it).
    int finish() {
        while (line()) {
        }
        return reap();
    }
    const std::string& output() const { return output_; }

private:
    int reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    std::string pending_, output_;
};

struct run_result {
    int exit = -1;
    std::string out;
};

run_result migrate(const std::vector<std::string>& args) {
    std::vector<std::string> all{"migrate"};
    all.insert(all.end(), args.begin(), args.end());
    chunklogd_run run(all);
    int status = run.finish();
    return {status, run.output()};
}

run_result migrate(const fs::path& from, const std::string& conninfo) {
    return migrate({"--from", "rocksdb:" + from.string(), "--to", "postgresql:" + conninfo});
}

std::size_t count_lines(const std::string& out, const std::string& start) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = out.find("\n" + start, at)) != std::string::npos; ++at) ++n;
    return n + (out.starts_with(start) ? 1 : 0);
}

// A chunklogd on its own RocksDB directory (not the tests' store).
std::vector<std::string> on_rocksdb(const fs::path& data) { return {"--store", "rocksdb:" + data.string()}; }

// What a user was given, to check on the destination.
struct filled_user {
    std::string id;
    std::string token;    // a token issued to the user ("" when none)
    std::string pending;  // an uncommitted transaction on HEAD ("" when none)
    std::vector<std::string> chunks;  // the bytes of every chunk stored
};

// A user with a chain of `length` one-chunk transactions, and what `i` picks of the rest.
filled_user fill_user(http_connection& conn, std::uint16_t port, int i, int length) {
    filled_user f{random_uuid(), {}, {}, {}};
    user_api api(conn, f.id);
    std::string parent = root_id_text;
    for (int k = 0; k < length; ++k) {
        auto id = random_uuid();
        f.chunks.push_back(f.id + " op " + std::to_string(k));
        REQUIRE(api.publish_one(id, parent, f.chunks.back()).status == 200);
        parent = id;
    }
    if (i % 3 == 0) {
        f.chunks.push_back(f.id + " pending");
        REQUIRE(api.put_chunk(f.chunks.back()).status == 201);
        f.pending = random_uuid();
        REQUIRE(api.put_transaction(f.pending, parent, {sha256_hex(f.chunks.back())}).status == 201);
    }
    if (i % 4 == 1) {
        f.chunks.push_back(f.id + " snapshot");
        REQUIRE(api.put_chunk(f.chunks.back()).status == 201);
        auto body = R"({"chunks":[")" + sha256_hex(f.chunks.back()) + R"(", ")" + sha256_hex(f.chunks[0]) + R"("]})";
        REQUIRE(conn.request("PUT", api.path("/snapshots/" + parent), body).status == 201);
    }
    if (i % 5 == 2) f.token = issue_token(port, f.id, R"({"label":"laptop"})");
    if (i == 7) REQUIRE(conn.request("PUT", api.path("/quota"), R"({"bytes": 1000000})").status < 300);
    return f;
}

// What a server answers about a user, for comparing two servers.
struct user_view {
    boost::json::object summary;  // GET /0.1/{user}, without the time-dependent urgency
    std::vector<std::string> chain;
    std::string snapshot;  // GET snapshot: its status and body
    std::map<std::string, std::string> chunks;  // id -> GET chunks/{id} status and body
};

user_view view_of(http_connection& conn, const filled_user& f) {
    user_api api(conn, f.id);
    user_view v;
    v.summary = parse_json(api.get("").body).as_object();
    v.summary.erase("snapshot_urgency");
    for (std::string from = root_id_text;;) {
        auto page = api.list(from, 1000);
        if (page.empty()) break;
        v.chain.insert(v.chain.end(), page.begin(), page.end());
        from = page.back();
    }
    auto snapshot = api.get("/snapshot");
    v.snapshot = std::to_string(snapshot.status) + " " + snapshot.body;
    for (const auto& bytes : f.chunks) {
        auto c = api.get("/chunks/" + sha256_hex(bytes));
        v.chunks[sha256_hex(bytes)] = std::to_string(c.status) + " " + c.body;
    }
    return v;
}

void check_same(const user_view& before, const user_view& after) {
    CHECK(boost::json::serialize(after.summary) == boost::json::serialize(before.summary));
    CHECK(after.chain == before.chain);
    CHECK(after.snapshot == before.snapshot);
    CHECK(after.chunks == before.chunks);
}

// The user's token works on the user's paths; a made-up one does not.
void check_token(std::uint16_t port, const filled_user& f) {
    auto with = [&](const std::string& token) {
        return http_call(port, "GET", "/0.1/" + f.id + "/head", {}, {{"Authorization", "Bearer " + token}}).status;
    };
    CHECK(with(f.token) == 200);
    CHECK(with("clt_" + std::string(43, 'x')) == 401);
}

// A small store of `count` users, filled by a chunklogd that then stops.
std::vector<filled_user> small_store(const fs::path& data, int count) {
    server_process server(data, on_rocksdb(data));
    http_connection conn(server.port());
    std::vector<filled_user> users;
    for (int i = 0; i < count; ++i) users.push_back(fill_user(conn, server.port(), i, 2));
    REQUIRE(server.terminate_and_wait(SIGTERM) == 0);
    return users;
}

chunklog::storage::store_options postgresql_store(const std::string& conninfo) {
    chunklog::storage::store_options options;
    options.kind = chunklog::storage::store_kind::postgresql;
    options.connection = conninfo;
    return options;
}

}  // namespace

TEST_SUITE("e2e_migrate") {

TEST_CASE("a migration killed part way resumes, and a chunklogd on PostgreSQL serves every user as before") {
    temp_dir dir;
    auto data = dir.path() / "rocksdb";
    std::vector<filled_user> users;
    std::vector<user_view> before;
    std::string admin_token;
    {
        server_process server(data, on_rocksdb(data));
        admin_token = server.admin_token();
        http_connection conn(server.port());
        for (int i = 0; i < 40; ++i) users.push_back(fill_user(conn, server.port(), i, 1 + i % 4));
        users.push_back({random_uuid(), {}, {}, {}});  // a user with a token and no data
        users.back().token = issue_token(server.port(), users.back().id);
        for (const auto& f : users) before.push_back(view_of(conn, f));
        REQUIRE(server.terminate_and_wait(SIGTERM) == 0);
    }
    auto conninfo = postgresql_conninfo(dir.path() / "pg");
    {
        chunklogd_run first({"migrate", "--from", "rocksdb:" + data.string(), "--to", "postgresql:" + conninfo});
        int migrated = 0;
        while (migrated < 3) {
            auto l = first.line();
            REQUIRE_MESSAGE(l, first.output());
            if (l->starts_with("migrated user ")) ++migrated;
        }
        first.kill_hard();
        INFO(first.output());
        CHECK(first.output().find("migrate: ") == std::string::npos);  // killed before its summary
    }
    auto second = migrate(data, conninfo);
    INFO(second.out);
    REQUIRE(second.exit == 0);
    auto skipped = count_lines(second.out, "skipped user ");
    auto migrated = count_lines(second.out, "migrated user ");
    CHECK(skipped >= 3);
    CHECK(migrated >= 1);
    CHECK(skipped + migrated == users.size());
    CHECK(second.out.find(" skipped (already migrated)") != std::string::npos);
    CHECK(second.out.find(": verified") != std::string::npos);

    server_process server(dir.path() / "pg-node",
                          {"--store", "postgresql:" + conninfo, "--admin-token-file", (data / "admin-token").string()});
    set_port_token(server.port(), admin_token);
    http_connection conn(server.port());
    for (std::size_t i = 0; i < users.size(); ++i) {
        CAPTURE(users[i].id);
        check_same(before[i], view_of(conn, users[i]));
        if (!users[i].token.empty()) check_token(server.port(), users[i]);
        if (!users[i].pending.empty()) {
            user_api api(conn, users[i].id);
            CHECK(api.advance(users[i].pending).status < 300);  // still uncommitted, and committable
            CHECK(api.head() == users[i].pending);
        }
    }
    CHECK(check_store(postgresql_store(conninfo)).empty());
}

TEST_CASE("migrating again skips every user and changes nothing") {
    temp_dir dir;
    auto data = dir.path() / "rocksdb";
    small_store(data, 5);
    auto conninfo = postgresql_conninfo(dir.path() / "pg");
    auto first = migrate(data, conninfo);
    INFO(first.out);
    REQUIRE(first.exit == 0);
    CHECK(first.out.find("migrate: 5 users migrated, 0 skipped") != std::string::npos);
    CHECK(count_lines(first.out, "migrated user ") == 5);
    auto again = migrate(data, conninfo);
    INFO(again.out);
    CHECK(again.exit == 0);
    CHECK(again.out.find("migrate: 0 users migrated, 5 skipped (already migrated); 0 transactions, 0 chunks") !=
          std::string::npos);
    CHECK(count_lines(again.out, "skipped user ") == 5);
    CHECK(count_lines(again.out, "migrated user ") == 0);
}

TEST_CASE("a newer-format source, a destination in use and a bad --to are refused") {
    temp_dir dir;
    auto data = dir.path() / "rocksdb";
    auto source_users = small_store(data, 1);

    SUBCASE("a destination holding a user no migration wrote") {
        const auto& user = source_users.at(0).id;
        auto conninfo = postgresql_conninfo(dir.path() / "in-use");
        {
            server_process server(dir.path() / "pg-node", {"--store", "postgresql:" + conninfo});
            http_connection conn(server.port());
            user_api api(conn, user);
            REQUIRE(api.publish_one(random_uuid(), root_id_text, "written on PostgreSQL").status == 200);
        }
        auto refused = migrate(data, conninfo);
        INFO(refused.out);
        CHECK(refused.exit == 1);
        CHECK(refused.out.find("user " + user + " already has data in the destination") != std::string::npos);
        CHECK(refused.out.find("migrated user") == std::string::npos);
    }
    SUBCASE("a source of a newer format") {
        {
            raw_db db(data);
            db.put(db.accounts(), chunklog::storage::keys::format_version(),
                   chunklog::storage::keys::encode_u64(chunklog::storage::keys::current_format + 1));
        }
        auto refused = migrate(data, postgresql_conninfo(dir.path() / "pg"));
        INFO(refused.out);
        CHECK(refused.exit == 1);
        CHECK(refused.out.find("newer than this chunklogd's") != std::string::npos);
        CHECK(refused.out.find("migrated user") == std::string::npos);
    }
    SUBCASE("a --to that is not PostgreSQL, or that cannot be reached") {
        auto wrong = migrate({"--from", "rocksdb:" + data.string(), "--to", "rocksdb:" + (dir.path() / "x").string()});
        CHECK(wrong.exit == 2);
        CHECK(wrong.out.find("--to must be postgresql://... or postgresql:KEY=VALUE...") != std::string::npos);
        auto missing = migrate({"--from", "rocksdb:" + data.string()});
        CHECK(missing.exit == 2);
        CHECK(missing.out.find("usage: chunklogd migrate") != std::string::npos);
        auto unreachable = migrate(data, "host=" + (dir.path() / "no-such-socket-dir").string() + " port=1");
        INFO(unreachable.out);
        CHECK(unreachable.exit == 1);
        CHECK(unreachable.out.find("chunklogd migrate: the database is unavailable") != std::string::npos);
    }
}

}  // TEST_SUITE
