// End-to-end: `chunklogd verify`, `backup` and `restore` as processes beside
// a real chunklogd under a publish load: the backup restores to a store
// that verifies clean, whose chain is whole (every transaction up to HEAD,
// every chunk readable), and that a new server serves with the same admin
// token; damage made on purpose is reported with a non-zero exit.
#include "support/command.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/store_check.hpp"
#include "support/temp_dir.hpp"

#include "storage/rocksdb/keys.hpp"

#include <chunklog/sha256.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

using namespace chunklog::test;
namespace fs = std::filesystem;

namespace {

command_result chunklogd(const std::string& args) { return run_command(std::string(CHUNKLOGD_PATH) + " " + args + " 2>&1"); }

// Clients publishing one-chunk transactions on their own users until stopped.
class publish_load {
public:
    publish_load(std::uint16_t port, int clients) {
        for (int c = 0; c < clients; ++c) users_.push_back(random_uuid());
        for (const auto& user : users_)
            threads_.emplace_back([this, port, user] {
                http_connection conn(port);
                user_api api(conn, user);
                std::string parent = root_id_text;
                for (int i = 0; !stop_.load(); ++i) {
                    auto id = random_uuid();
                    auto r = api.publish_one(id, parent, user + " op " + std::to_string(i));
                    if (r.status != 200) ++failures_;
                    else parent = id, ++published_;
                }
            });
    }
    ~publish_load() { stop(); }

    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    long published() const { return published_.load(); }
    long failures() const { return failures_.load(); }
    const std::vector<std::string>& users() const { return users_; }

private:
    std::vector<std::string> users_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    std::atomic<long> published_{0}, failures_{0};
};

// Reads the user's whole committed log and checks it is one unbroken chain
// from ROOT to HEAD whose every chunk is readable; returns its length.
std::size_t check_whole_chain(http_connection& conn, const std::string& user) {
    user_api api(conn, user);
    auto head = parse_json(api.get("/head").body);
    std::string parent = root_id_text, from = root_id_text;
    std::size_t length = 0;
    for (bool more = true; more;) {
        for (const auto& line : api.log_lines("limit=500&from=" + from)) {
            if (line.contains("transaction")) {
                const auto& t = line.at("transaction");
                CHECK(text(t.at("parent")) == parent);
                parent = text(t.at("id"));
                ++length;
                for (const auto& c : t.at("chunks").as_array()) CHECK(api.get("/chunks/" + text(c)).status == 200);
            }
            if (line.contains("end")) {
                more = line.at("end").at("more").as_bool();
                from = text(line.at("end").at("last"));
            }
        }
    }
    CHECK(parent == text(head.at("head")));
    CHECK(length == static_cast<std::size_t>(head.at("seq").to_number<std::int64_t>()));
    return length;
}

}  // namespace

TEST_SUITE("e2e_backup") {

TEST_CASE("a backup taken under a publish load restores to a whole, verified store that a new server serves") {
    temp_dir dir;
    auto data = dir.path() / "db";
    std::string admin_token;
    std::vector<std::string> users;
    long published_before_backup = 0;
    {
        server_process server(data);
        admin_token = server.admin_token();
        publish_load load(server.port(), 4);
        users = load.users();
        REQUIRE(wait_until([&] { return load.published() >= 40; }));
        published_before_backup = load.published();
        auto online_verify = chunklogd("verify --data-dir " + data.string());
        INFO(online_verify.out);
        CHECK(online_verify.exit == 0);
        auto backup = chunklogd("backup --data-dir " + data.string() + " --to " + (dir.path() / "backup").string());
        INFO(backup.out);
        REQUIRE(backup.exit == 0);
        long at_backup_end = load.published();
        REQUIRE(wait_until([&] { return load.published() >= at_backup_end + 20; }));  // the load went on
        load.stop();
        CHECK(load.failures() == 0);
    }
    auto restore = chunklogd("restore --from " + (dir.path() / "backup").string() + " --data-dir " +
                             (dir.path() / "restored").string());
    INFO(restore.out);
    REQUIRE(restore.exit == 0);
    auto verified = chunklogd("verify --data-dir " + (dir.path() / "restored").string());
    INFO(verified.out);
    CHECK(verified.exit == 0);
    CHECK(verified.out.find(": clean") != std::string::npos);

    server_process restored(dir.path() / "restored");
    CHECK(restored.admin_token() == admin_token);
    http_connection conn(restored.port());
    std::size_t total = 0;
    for (const auto& user : users) total += check_whole_chain(conn, user);
    CHECK(total >= static_cast<std::size_t>(published_before_backup));
}

TEST_CASE("verify exits non-zero naming each damage, backup and restore refuse what they cannot do") {
    namespace keys = chunklog::storage::keys;
    temp_dir dir;
    auto data = dir.path() / "db";
    std::string user = random_uuid();
    {
        server_process server(data);
        http_connection conn(server.port());
        user_api api(conn, user);
        std::string parent = root_id_text;
        for (int i = 0; i < 5; ++i) {
            auto id = random_uuid();
            REQUIRE(api.publish_one(id, parent, "op " + std::to_string(i)).status == 200);
            parent = id;
        }
    }
    auto clean = chunklogd("verify --data-dir " + data.string());
    INFO(clean.out);
    CHECK(clean.exit == 0);
    CHECK(clean.out.find("1 users, 5 transactions, 5 chunks") != std::string::npos);
    auto id = *chunklog::uuid::parse(user);
    {
        raw_db db(data);
        auto chunk_key = keys::chunk(id, chunklog::sha256_of("op 1"));
        auto bytes = db.get(db.chunks(), chunk_key);
        REQUIRE(bytes);
        (*bytes)[1] ^= 0x20;
        db.put(db.chunks(), chunk_key, *bytes);
        db.remove(db.meta(), keys::chain(id, 4));
        db.put(db.meta(), keys::stats(id), keys::encode_stats({6, 15}));
    }
    auto damaged = chunklogd("verify --data-dir " + data.string());
    INFO(damaged.out);
    CHECK(damaged.exit == 1);
    CHECK(damaged.out.find("chunk " + chunklog::sha256_of("op 1").to_string().substr(0, 16) + " is corrupt") !=
          std::string::npos);
    CHECK(damaged.out.find("no chain entry at seq 4") != std::string::npos);
    CHECK(damaged.out.find("counters say 6 chunks, 15 bytes") != std::string::npos);

    auto backup = chunklogd("backup --data-dir " + data.string() + " --to " + (dir.path() / "b").string());
    REQUIRE(backup.exit == 0);  // a backup copies what is there, damage included
    auto restore = chunklogd("restore --from " + (dir.path() / "b").string() + " --data-dir " + (dir.path() / "r").string());
    CHECK(restore.exit == 1);
    CHECK(restore.out.find("problem(s), the first") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "r"));

    CHECK(chunklogd("backup --data-dir " + data.string() + " --to " + data.string()).exit == 1);
    CHECK(chunklogd("verify --data-dir " + (dir.path() / "none").string()).exit == 1);
    CHECK(chunklogd("backup --data-dir " + data.string()).exit == 2);
}

}  // TEST_SUITE
