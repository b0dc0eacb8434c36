// End-to-end: snapshots (protocol section 8), garbage collection and history
// truncation (section 9) and POST /admin/gc (section 11) against the real
// chunklogd, with short durations (--gc-grace 1s and so on); a pass racing
// many publishing clients; and a data directory of the previous store
// format, upgraded when the server starts.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include "storage/rocksdb/keys.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>

#include <rocksdb/db.h>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace chunklog::test;
using namespace std::chrono_literals;

namespace {

boost::json::object gc_now(http_connection& conn) {
    auto r = conn.request("POST", "/admin/gc");
    REQUIRE(r.status == 200);
    return parse_json(r.body).as_object();
}

long number(const boost::json::value& v) { return static_cast<long>(v.to_number<std::int64_t>()); }

std::string snapshot_body(const std::vector<std::string>& chunks) {
    return boost::json::serialize(boost::json::object{{"chunks", boost::json::array(chunks.begin(), chunks.end())}});
}

}  // namespace

TEST_SUITE("e2e_gc") {

TEST_CASE("with the default grace period nothing young is collected, and /admin/gc needs the admin token") {
    temp_dir dir;
    server_process server(dir.path() / "db");
    http_connection conn(server.port());
    user_api api(conn);
    CHECK(api.put_chunk("loose").status == 201);
    CHECK(api.put_transaction(random_uuid(), root_id_text, {}).status == 201);
    auto removed = gc_now(conn);
    CHECK(number(removed.at("transactions")) == 0);
    CHECK(number(removed.at("chunks")) == 0);
    CHECK(number(removed.at("bytes")) == 0);
    auto limits = parse_json(http_call(server.port(), "GET", "/limits").body);
    CHECK(number(limits.at("gc_grace_seconds")) == 86400);
    CHECK(number(limits.at("history_retention_seconds")) == 0);

    auto token = issue_token(server.port(), api.user());
    auto as_user = conn.request("POST", "/admin/gc", "", {{"Authorization", "Bearer " + token}});
    CHECK(as_user.status == 403);
    auto anonymous = conn.request("POST", "/admin/gc", "", {{"Authorization", ""}});
    CHECK(anonymous.status == 401);
    CHECK(conn.request("GET", "/admin/gc").status == 405);
    CHECK(conn.request("GET", api.path("/snapshot"), "", {{"Authorization", ""}}).status == 401);
    CHECK(conn.request("GET", api.path("/snapshot"), "", {{"Authorization", "Bearer " + token}}).status == 404);
}

TEST_CASE("POST /admin/gc removes dead transactions and unreferenced chunks older than --gc-grace") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--gc-grace", "1s", "--gc-interval", "0"});
    http_connection conn(server.port());
    user_api api(conn);
    auto committed = random_uuid(), dead = random_uuid(), pending = random_uuid();
    REQUIRE(api.publish_one(committed, root_id_text, "kept").status == 200);
    REQUIRE(api.put_chunk("dead's").status == 201);
    REQUIRE(api.put_chunk("loose").status == 201);
    REQUIRE(api.put_transaction(dead, root_id_text, {sha256_hex("dead's")}).status == 201);
    REQUIRE(api.put_transaction(pending, committed, {}).status == 201);
    CHECK(number(parse_json(http_call(server.port(), "GET", "/limits").body).at("gc_grace_seconds")) == 1);

    long transactions = 0, chunks = 0, bytes = 0;
    CHECK(wait_until([&] {
        auto r = gc_now(conn);
        transactions += number(r.at("transactions"));
        chunks += number(r.at("chunks"));
        bytes += number(r.at("bytes"));
        return transactions == 2 && chunks == 2;
    }));
    CHECK(bytes == 6 + 5);
    CHECK(api.get("/chunks/" + sha256_hex("loose")).status == 404);
    CHECK(api.get("/chunks/" + sha256_hex("dead's")).status == 404);
    CHECK(api.get("/chunks/" + sha256_hex("kept")).status == 200);
    CHECK(api.get("/transactions/" + committed).status == 200);
    auto s = parse_json(api.get("").body);
    CHECK(number(s.at("chunks")) == 1);
    CHECK(number(s.at("bytes")) == 4);
    CHECK(number(s.at("transactions")) == 1);
    // The removed ids may be created again.
    CHECK(api.put_transaction(dead, committed, {}).status == 201);
    CHECK(api.put_transaction(pending, committed, {}).status == 201);
    CHECK(metric(conn, "chunklog_gc_transactions_removed_total") == 2);
    CHECK(metric(conn, "chunklog_gc_chunks_removed_total") == 2);
    CHECK(metric(conn, "chunklog_gc_bytes_freed_total") == 11);
    CHECK(metric(conn, "chunklog_gc_passes_total") >= 1);
    CHECK(metric(conn, "chunklog_gc_examined_total") >= 4);
}

TEST_CASE("the background pass runs every --gc-interval") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--gc-grace", "1s", "--gc-interval", "1s"});
    http_connection conn(server.port());
    user_api api(conn);
    REQUIRE(api.put_chunk("loose").status == 201);
    CHECK(wait_until([&] { return api.get("/chunks/" + sha256_hex("loose")).status == 404; }));
    // Counted once the pass is over (a moment after its removals show).
    CHECK(wait_until([&] { return metric(conn, "chunklog_gc_passes_total") >= 1; }));
    CHECK(number(parse_json(api.get("").body).at("chunks")) == 0);
    // It stops promptly with the server.
    auto started = std::chrono::steady_clock::now();
    CHECK(server.terminate_and_wait(SIGTERM) == 0);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
}

TEST_CASE("snapshots: PUT, GET, the summary and the Snapshot-Urgency header") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--snapshot-after", "3", "--snapshot-age", "14d"});
    http_connection conn(server.port());
    user_api api(conn);
    std::vector<std::string> ids;
    std::string parent = root_id_text;
    for (int i = 1; i <= 4; ++i) {
        auto id = random_uuid();
        auto r = api.publish_one(id, parent, "op " + std::to_string(i));
        REQUIRE(r.status == 200);
        CHECK(r.header("snapshot-urgency") == (i < 3 ? "" : "low"));
        ids.push_back(parent = id);
    }
    auto s = parse_json(api.get("").body);
    CHECK(s.at("snapshot").is_null());
    CHECK(text(s.at("snapshot_urgency")) == "low");
    CHECK(number(s.at("history_from")) == 0);

    CHECK(api.get("/snapshot").status == 404);
    REQUIRE(api.put_chunk("state at 2").status == 201);
    auto missing = conn.request("PUT", api.path("/snapshots/" + ids[1]), snapshot_body({sha256_hex("nope")}));
    CHECK(missing.status == 404);
    CHECK(error_code(missing) == "missing_chunks");
    CHECK(conn.request("PUT", api.path("/snapshots/" + random_uuid()), snapshot_body({})).status == 404);
    auto made = conn.request("PUT", api.path("/snapshots/" + ids[1]), snapshot_body({sha256_hex("state at 2")}));
    CHECK(made.status == 201);
    CHECK(text(parse_json(made.body).at("transaction")) == ids[1]);
    auto kept = conn.request("PUT", api.path("/snapshots/" + ids[0]), snapshot_body({}));
    CHECK(kept.status == 200);
    CHECK(number(parse_json(kept.body).at("seq")) == 2);
    auto got = parse_json(api.get("/snapshot").body);
    CHECK(text(got.at("transaction")) == ids[1]);
    CHECK(number(got.at("seq")) == 2);
    CHECK(text(got.at("created")).size() == 20);  // RFC 3339, UTC
    s = parse_json(api.get("").body);
    CHECK(text(s.at("snapshot").at("transaction")) == ids[1]);
    CHECK(text(s.at("snapshot_urgency")) == "none");  // 2 transactions after it
    auto advanced = api.publish_one(random_uuid(), ids[3], "op 5");
    CHECK(advanced.header("snapshot-urgency") == "low");

    auto page = api.log_lines("snapshot=1");
    REQUIRE(page.size() >= 3);
    CHECK(text(page[0].at("chunk").at("id")) == sha256_hex("state at 2"));
    CHECK(text(page[1].at("snapshot").at("transaction")) == ids[1]);
    CHECK(page[2].contains("chunk"));  // op 3
    CHECK(page.back().at("end").at("more").as_bool() == false);
    // DELETE removes the snapshot.
    CHECK(conn.request("DELETE", api.path()).status == 204);
    CHECK(api.get("/snapshot").status == 404);
}

TEST_CASE("history truncation: 410 with the snapshot, and a new replica bootstraps with snapshot=1") {
    temp_dir dir;
    server_process server(dir.path() / "db",
                          {"--gc-grace", "1s", "--history-retention", "1s", "--gc-interval", "0"});
    http_connection conn(server.port());
    user_api api(conn);
    std::vector<std::string> ids;
    std::string parent = root_id_text;
    for (int i = 1; i <= 6; ++i) {
        auto id = random_uuid();
        REQUIRE(api.publish_one(id, parent, "op " + std::to_string(i)).status == 200);
        ids.push_back(parent = id);
    }
    REQUIRE(api.put_chunk("state at 4").status == 201);
    REQUIRE(conn.request("PUT", api.path("/snapshots/" + ids[3]), snapshot_body({sha256_hex("state at 4")})).status ==
            201);
    CHECK(wait_until([&] {
        gc_now(conn);
        return number(parse_json(api.get("").body).at("history_from")) == 3;
    }));
    auto s = parse_json(api.get("").body);
    CHECK(number(s.at("transactions")) == 3);
    CHECK(number(s.at("seq")) == 6);
    CHECK(text(s.at("head")) == ids[5]);
    CHECK(number(parse_json(http_call(server.port(), "GET", "/limits").body).at("history_retention_seconds")) == 1);

    for (const auto& target : {std::string("/transactions"), "/transactions?from=" + ids[0], std::string("/log"),
                               "/log?from=" + ids[2]}) {
        auto r = api.get(target);
        CHECK(r.status == 410);
        CHECK(error_code(r) == "history_truncated");
        auto body = parse_json(r.body);
        CHECK(text(body.at("snapshot").at("transaction")) == ids[3]);
        CHECK(number(body.at("snapshot").at("seq")) == 4);
    }
    CHECK(api.get("/transactions/" + ids[0]).status == 404);
    CHECK(api.get("/chunks/" + sha256_hex("op 1")).status == 404);
    CHECK(api.get("/transactions/" + ids[3]).status == 200);
    CHECK(api.list(ids[3]) == std::vector<std::string>{ids[4], ids[5]});

    // A new replica: one streamed pass from ROOT with snapshot=1.
    auto page = api.log_lines("snapshot=1");
    std::vector<std::string> kinds;
    for (const auto& line : page) kinds.push_back(std::string(line.begin()->key()));
    CHECK(kinds == std::vector<std::string>{"chunk", "snapshot", "chunk", "transaction", "chunk", "transaction", "end"});
    CHECK(chunklog::base64_decode(text(page[0].at("chunk").at("data"))).value() == "state at 4");
    CHECK(text(page[3].at("transaction").at("id")) == ids[4]);
    CHECK(text(page[6].at("end").at("last")) == ids[5]);
    // A replica offline across the truncation: its base is gone, snapshot=1 brings it back.
    auto stale = api.log_lines("snapshot=1&chunks=0&from=" + ids[1]);
    CHECK(text(stale[0].at("snapshot").at("transaction")) == ids[3]);
}

TEST_CASE("a GC pass racing many publishing clients leaves every committed chunk readable and the counters exact") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--gc-grace", "1s", "--gc-interval", "1s"});
    const std::string user = random_uuid();
    std::atomic<bool> stop{false};
    std::atomic<int> published{0}, server_errors{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < 6; ++c)
        threads.emplace_back([&, c] {
            http_connection conn(server.port());
            user_api api(conn, user);
            for (int i = 0; !stop.load(); ++i) {
                auto r = api.publish_one(random_uuid(), api.head(),
                                     "client " + std::to_string(c) + " op " + std::to_string(i));
                if (r.status >= 500) ++server_errors;
                if (r.status == 200) ++published;
                // A transaction that loses its race: dead, collected later.
                if (i % 5 == 0) api.put_transaction(random_uuid(), root_id_text, {sha256_hex("client " + std::to_string(c) + " op " + std::to_string(i))});
            }
        });
    threads.emplace_back([&] {  // loose chunks, and explicit passes beside the background ones
        http_connection conn(server.port());
        user_api api(conn, user);
        for (int i = 0; !stop.load(); ++i) {
            if (api.put_chunk("loose " + std::to_string(i)).status >= 500) ++server_errors;
            if (i % 20 == 0 && conn.request("POST", "/admin/gc").status != 200) ++server_errors;
        }
    });
    std::this_thread::sleep_for(4s);
    stop = true;
    for (auto& t : threads) t.join();
    CHECK(server_errors == 0);
    CHECK(published > 10);

    // Everything not committed is past the grace period: one more pass.
    http_connection conn(server.port());
    user_api api(conn, user);
    std::this_thread::sleep_for(1100ms);
    gc_now(conn);
    // Every committed transaction's chunks, read through the log, then one by one.
    std::set<std::string> referenced;
    long bytes = 0;
    std::string from = root_id_text;
    std::size_t committed = 0;
    for (bool more = true; more;) {
        auto page = api.log_lines("limit=1000&from=" + from);
        for (const auto& line : page) {
            if (line.contains("chunk") && referenced.insert(text(line.at("chunk").at("id"))).second)
                bytes += static_cast<long>(chunklog::base64_decode(text(line.at("chunk").at("data"))).value().size());
            if (line.contains("transaction")) ++committed;
            if (line.contains("end")) {
                more = line.at("end").at("more").as_bool();
                from = text(line.at("end").at("last"));
            }
        }
    }
    CHECK(committed == static_cast<std::size_t>(published.load()));
    for (const auto& id : referenced) CHECK(api.get("/chunks/" + id).status == 200);
    auto s = parse_json(api.get("").body);
    CHECK(number(s.at("chunks")) == static_cast<long>(referenced.size()));
    CHECK(number(s.at("bytes")) == bytes);
    CHECK(number(s.at("transactions")) == static_cast<long>(committed));
}

TEST_CASE("a data directory of the previous store format is upgraded when the server starts") {
    namespace keys = chunklog::storage::keys;
    temp_dir dir;
    auto db_dir = dir.path() / "db";
    auto user = *chunklog::uuid::parse("0f8fad5b-d9cb-469f-a165-70867728950e");
    auto t1 = *chunklog::uuid::parse("6f9619ff-8b86-4d01-b42d-00c04fc964ff");
    auto t2 = *chunklog::uuid::parse("7f9619ff-8b86-4d01-b42d-00c04fc964ff");
    auto dead = *chunklog::uuid::parse("8f9619ff-8b86-4d01-b42d-00c04fc964ff");
    {
        // The format 1 layout, as the release before garbage collection wrote it.
        rocksdb::DBOptions options;
        options.create_if_missing = true;
        options.create_missing_column_families = true;
        std::vector<rocksdb::ColumnFamilyDescriptor> families{
            {rocksdb::kDefaultColumnFamilyName, {}}, {"chunks", {}}, {"accounts", {}}};
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(options, db_dir.string(), families, &handles, &raw).ok());
        std::unique_ptr<rocksdb::DB> db(raw);
        auto put = [&](int cf, const std::string& key, const std::string& value) {
            REQUIRE(db->Put({}, handles[cf], key, value).ok());
        };
        auto chunk = [&](const std::string& bytes) {
            auto id = chunklog::sha256_of(bytes);
            put(1, keys::chunk(user, id), bytes);
            std::string size;
            keys::put_be64(size, bytes.size());
            put(0, keys::chunk_size(user, id), size);
            return id;
        };
        auto a = chunk("buy milk"), b = chunk("buy bread"), c = chunk("lost");
        put(0, keys::stats(user), keys::encode_stats({3, 8 + 9 + 4}));
        put(0, keys::transaction(user, t1), keys::encode_transaction({t1, chunklog::root_id, 1, {a}}));
        put(0, keys::transaction(user, t2), keys::encode_transaction({t2, t1, 2, {b, a}}));
        put(0, keys::transaction(user, dead), keys::encode_transaction({dead, chunklog::root_id, 1, {c}}));
        put(0, keys::child(user, chunklog::root_id, t1), "");
        put(0, keys::child(user, t1, t2), "");
        put(0, keys::child(user, chunklog::root_id, dead), "");
        put(0, keys::chain(user, 1), std::string(t1.raw()));
        put(0, keys::chain(user, 2), std::string(t2.raw()));
        put(0, keys::head(user), keys::encode_head({t2, 2}));
        for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
        REQUIRE(db->Close().ok());
    }
    // On RocksDB whatever store the suite runs on: the upgrade is of this directory.
    server_process server(db_dir, {"--store", "rocksdb:" + db_dir.string(), "--gc-grace", "1s", "--gc-interval", "0"});
    CHECK(server.log().find("upgrad") != std::string::npos);
    http_connection conn(server.port());
    user_api api(conn, user.to_string());
    CHECK(api.head() == t2.to_string());
    CHECK(api.list() == std::vector<std::string>{t1.to_string(), t2.to_string()});
    CHECK(api.get("/chunks/" + chunklog::sha256_of("buy bread").to_string()).body == "buy bread");
    auto s = parse_json(api.get("").body);
    CHECK(number(s.at("chunks")) == 3);
    CHECK(number(s.at("bytes")) == 21);
    // The dead transaction and its chunk go after the grace period, counted from the upgrade.
    long removed = 0;
    CHECK(wait_until([&] {
        removed += number(gc_now(conn).at("chunks"));
        return removed == 1;
    }));
    CHECK(api.get("/chunks/" + chunklog::sha256_of("lost").to_string()).status == 404);
    CHECK(api.get("/chunks/" + chunklog::sha256_of("buy milk").to_string()).status == 200);
    CHECK(api.put_transaction(dead.to_string(), t2.to_string(), {}).status == 201);
}

}  // TEST_SUITE
