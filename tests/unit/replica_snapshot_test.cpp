// The task replica and snapshots, against a small scripted sync server that
// can truncate history at will and answer Snapshot-Urgency as told: writing
// the snapshot the server asks for, starting a new replica from it, and
// rebuilding a replica whose base was truncated without losing its pending
// operations. Also the snapshot chunk format, and the pending-operation
// records with the in-place upgrade of a replica written in format 1.
#include "support/fake_server.hpp"
#include "support/outcome_printer.hpp"
#include "support/task_key.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/tasks/replica.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <mutex>
#include <sstream>

using namespace chunklog;
using test::fake_request;
using test::fake_response;
using test::fake_server;

namespace {

namespace json = boost::json;

// One user's log as the protocol describes it, served over HTTP: the
// committed chain (its oldest part removable, as history truncation does),
// chunks, one snapshot, and a Snapshot-Urgency for every publish. Enough of
// sections 2, 3 and 8 for a replica's sync; every answer closes the
// connection, so that several clients can take turns.
class scripted_server {
public:
    struct stored_transaction {
        uuid id;
        uuid parent;
        std::uint64_t seq = 0;
        std::vector<digest> chunks;
    };
    struct stored_snapshot {
        snapshot_position position;
        std::vector<digest> chunks;
    };

    scripted_server()
        : http_([this](const fake_request& r) {
              try {
                  return answer(r);
              } catch (const std::exception& e) {  // a bug of this test server: say so, keep serving
                  std::fprintf(stderr, "scripted server: %s\n", e.what());
                  return error(500, "internal");
              }
          }) {}

    std::string url() const { return http_.url(); }
    std::vector<fake_request> received() const { return http_.received(); }

    // What the next publishes answer in Snapshot-Urgency ("" for none).
    void set_urgency(std::string u) {
        std::lock_guard lock(mutex_);
        urgency_ = std::move(u);
    }
    // The next publish is applied, and its connection dropped without an answer.
    void lose_next_publish_answer() {
        std::lock_guard lock(mutex_);
        lose_publish_answer_ = true;
    }
    // PUT snapshots answers 507 quota_exceeded while set.
    void refuse_snapshots(bool refuse) {
        std::lock_guard lock(mutex_);
        refuse_snapshots_ = refuse;
    }
    // Removes the committed transactions up to seq `through` (never the
    // snapshot's own), as history truncation does.
    void truncate_through(std::uint64_t through) {
        std::lock_guard lock(mutex_);
        REQUIRE(snapshot_);
        REQUIRE(through < snapshot_->position.seq);
        while (!chain_.empty() && chain_.front().seq <= through) chain_.erase(chain_.begin());
        history_from_ = through;
    }
    void truncate_before_snapshot() {
        std::uint64_t seq = 0;
        {
            std::lock_guard lock(mutex_);
            REQUIRE(snapshot_);
            seq = snapshot_->position.seq;
        }
        truncate_through(seq - 1);
    }

    std::vector<stored_transaction> chain() const {
        std::lock_guard lock(mutex_);
        return chain_;
    }
    head_state head() const {
        std::lock_guard lock(mutex_);
        return head_locked();
    }
    std::optional<stored_snapshot> snapshot() const {
        std::lock_guard lock(mutex_);
        return snapshot_;
    }
    std::string chunk(const digest& id) const {
        std::lock_guard lock(mutex_);
        return chunks_.at(id);
    }
    // Every operation of the committed chain still stored, in order: sealed
    // versions, or the legacy plaintext chunks a test wrote itself.
    std::vector<operation> operations() const {
        std::vector<operation> out;
        for (const auto& t : chain())
            for (const auto& c : t.chunks) {
                auto bytes = chunk(c);
                auto ops = bytes.starts_with('\x01') ? test::version_operations(test::task_key(), t.parent, bytes)
                                                      : decode_operations(bytes).value();
                out.insert(out.end(), ops.begin(), ops.end());
            }
        return out;
    }
    // The tasks of the snapshot in force (a sealed TaskChampion snapshot).
    task_set snapshot_tasks() const {
        auto s = snapshot();
        REQUIRE(s);
        REQUIRE(s->chunks.size() == 1);
        return test::snapshot_tasks(test::task_key(), s->position.transaction, chunk(s->chunks[0]));
    }

private:
    static fake_response reply(unsigned status, const std::string& body, const std::string& extra = {},
                               const std::string& type = "application/json") {
        std::ostringstream out;
        out << "HTTP/1.1 " << status << " Scripted\r\nContent-Type: " << type << "\r\nConnection: close\r\n"
            << extra << "Content-Length: " << body.size() << "\r\n\r\n"
            << body;
        return {out.str(), true};
    }
    static fake_response error(unsigned status, const std::string& code, json::object extra = {}) {
        extra["error"] = code;
        extra["message"] = "scripted";
        return reply(status, json::serialize(extra));
    }

    head_state head_locked() const {
        if (chain_.empty()) return {snapshot_ && history_from_ > 0 ? snapshot_->position.transaction : root_id,
                                    history_from_};
        return {chain_.back().id, chain_.back().seq};
    }
    const stored_transaction* find(const uuid& id) const {
        for (const auto& t : chain_)
            if (t.id == id) return &t;
        return nullptr;
    }
    json::object snapshot_ref() const {
        return {{"transaction", snapshot_->position.transaction.to_string()}, {"seq", snapshot_->position.seq}};
    }
    static json::array id_array(const std::vector<digest>& ids) {
        json::array out;
        for (const auto& id : ids) out.emplace_back(id.to_string());
        return out;
    }

    fake_response answer(const fake_request& r) {
        std::lock_guard lock(mutex_);
        auto url = boost::urls::parse_origin_form(r.target).value();
        std::string path(url.path());
        auto rest = path.substr(path.find('/', 5));  // after /0.1/{user}
        if (r.method == "GET" && rest == "/log") return log(url);
        if (r.method == "GET" && rest == "/head")
            return reply(200, json::serialize(json::object{{"head", head_locked().head.to_string()},
                                                           {"seq", head_locked().seq}}));
        if (r.method == "POST" && rest == "/chunks/missing") {
            json::array missing;
            auto asked = json::parse(r.body);
            for (const auto& id : asked.at("chunks").as_array())
                if (!chunks_.contains(*digest::parse(id.as_string()))) missing.push_back(id);
            return reply(200, json::serialize(json::object{{"missing", missing}}));
        }
        if (r.method == "POST" && rest == "/publish") return publish(r.body);
        if (r.method == "PUT" && rest.starts_with("/chunks/")) {
            auto id = sha256_of(r.body);
            chunks_[id] = r.body;
            return reply(201, json::serialize(json::object{{"id", id.to_string()}, {"size", r.body.size()}}));
        }
        if (r.method == "PUT" && rest.starts_with("/snapshots/")) return put_snapshot(*uuid::parse(rest.substr(11)), r.body);
        if (r.method == "GET" && rest.starts_with("/transactions/")) {
            const auto* t = find(*uuid::parse(rest.substr(14)));
            if (t == nullptr) return error(404, "not_found");
            return reply(200, json::serialize(json::object{{"id", t->id.to_string()}, {"parent", t->parent.to_string()},
                                                           {"seq", t->seq}, {"chunks", id_array(t->chunks)}}));
        }
        return error(500, "internal");
    }

    fake_response log(const boost::urls::url_view& url) {
        uuid from = root_id;
        bool with_snapshot = false;
        for (auto p : url.params()) {
            if (p.key == "from") from = *uuid::parse(p.value);
            if (p.key == "snapshot") with_snapshot = p.value == "1";
        }
        std::optional<std::uint64_t> from_seq;  // nullopt: removed by truncation
        if (from.is_root()) {
            if (history_from_ == 0) from_seq = 0;
        } else if (const auto* t = find(from)) {
            from_seq = t->seq;
        } else if (history_from_ == 0) {
            return error(404, "not_found");
        }
        if (!from_seq && !with_snapshot) return error(410, "history_truncated", {{"snapshot", snapshot_ref()}});
        std::string body;
        std::set<digest> sent;
        auto chunk_lines = [&](const std::vector<digest>& ids) {
            for (const auto& id : ids)
                if (sent.insert(id).second)
                    body += json::serialize(json::object{
                                {"chunk", {{"id", id.to_string()}, {"data", base64_encode(chunks_.at(id))}}}}) +
                            "\n";
        };
        std::uint64_t position = from_seq.value_or(0);
        uuid last = from;
        if (with_snapshot && snapshot_ && (!from_seq || snapshot_->position.seq > *from_seq)) {
            chunk_lines(snapshot_->chunks);
            auto line = snapshot_ref();
            line["chunks"] = id_array(snapshot_->chunks);
            body += json::serialize(json::object{{"snapshot", line}}) + "\n";
            position = snapshot_->position.seq;
            last = snapshot_->position.transaction;
        }
        for (const auto& t : chain_) {
            if (t.seq <= position) continue;
            chunk_lines(t.chunks);
            body += json::serialize(json::object{{"transaction",
                                                  {{"id", t.id.to_string()}, {"parent", t.parent.to_string()},
                                                   {"seq", t.seq}, {"chunks", id_array(t.chunks)}}}}) +
                    "\n";
            last = t.id;
        }
        body += json::serialize(json::object{
                    {"end", {{"head", head_locked().head.to_string()}, {"last", last.to_string()}, {"more", false}}}}) +
                "\n";
        return reply(200, body, {}, "application/x-ndjson");
    }

    fake_response publish(const std::string& text) {
        auto body = json::parse(text).as_object();
        for (const auto& c : body.at("chunks").as_array()) {
            auto bytes = base64_decode(c.at("data").as_string()).value();
            chunks_[sha256_of(bytes)] = bytes;
        }
        for (const auto& item : body.at("transactions").as_array()) {
            stored_transaction t{*uuid::parse(item.at("id").as_string()), *uuid::parse(item.at("parent").as_string()),
                                 head_locked().seq + 1, {}};
            if (t.parent != head_locked().head)
                return error(409, "conflict", {{"head", head_locked().head.to_string()}});
            for (const auto& c : item.at("chunks").as_array()) t.chunks.push_back(*digest::parse(c.as_string()));
            chain_.push_back(std::move(t));
        }
        if (lose_publish_answer_) {
            lose_publish_answer_ = false;
            return fake_response::drop();
        }
        auto h = head_locked();
        return reply(200, json::serialize(json::object{{"head", h.head.to_string()}, {"seq", h.seq}}),
                     urgency_.empty() ? "" : "Snapshot-Urgency: " + urgency_ + "\r\n");
    }

    fake_response put_snapshot(const uuid& id, const std::string& text) {
        const auto* t = find(id);
        if (t == nullptr) return error(404, "not_found");
        if (snapshot_ && snapshot_->position.seq >= t->seq) return reply(200, json::serialize(snapshot_ref()));
        if (refuse_snapshots_) return error(507, "quota_exceeded");
        std::vector<digest> ids;
        json::array missing;
        auto body = json::parse(text);
        for (const auto& c : body.at("chunks").as_array()) {
            ids.push_back(*digest::parse(c.as_string()));
            if (!chunks_.contains(ids.back())) missing.push_back(c);
        }
        if (!missing.empty()) return error(404, "missing_chunks", {{"missing", missing}});
        snapshot_ = stored_snapshot{{id, t->seq}, ids};
        return reply(201, json::serialize(snapshot_ref()));
    }

    mutable std::mutex mutex_;
    std::vector<stored_transaction> chain_;
    std::uint64_t history_from_ = 0;
    std::map<digest, std::string> chunks_;
    std::optional<stored_snapshot> snapshot_;
    std::string urgency_;
    bool lose_publish_answer_ = false;
    bool refuse_snapshots_ = false;
    fake_server http_;  // last: stops before the state it uses goes
};

client_options options_for(const scripted_server& server, const uuid& user) {
    client_options o;
    o.server_url = server.url();
    o.user = user;
    o.retries = 0;  // a lost answer is a failed sync, as after a crash
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// A replica in its own directory, syncing with the scripted server.
struct node {
    node(const std::filesystem::path& dir, const scripted_server& server, const uuid& user)
        : store(replica::open(dir).value()), server(options_for(server, user)) {}
    std::unique_ptr<replica> store;
    client server;

    sync_report sync() {
        auto r = store->sync(server, test::task_key());
        REQUIRE(r);
        return *r;
    }
    uuid add(const std::string& description, std::int64_t ts) {
        auto id = uuid::random();
        REQUIRE(store->commit({operation::create(id), operation::update(id, "description", description, ts),
                               operation::update(id, "status", "pending", ts),
                               operation::update(id, "entry", std::to_string(ts), ts)}));
        return id;
    }
    void set(const uuid& id, const std::string& property, std::optional<std::string> value, std::int64_t ts) {
        REQUIRE(store->commit({operation::update(id, property, std::move(value), ts)}));
    }
    task_set tasks() const { return store->tasks().value(); }
};

struct scripted_fixture {
    test::temp_dir dir;
    scripted_server server;
    uuid user = uuid::random();
    node make(const std::string& name) { return node(dir.path() / name, server, user); }
};

std::string key_of(std::uint64_t n) {
    std::string key = "o";
    for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((n >> shift) & 0xff));
    return key;
}

// The keys and values of a closed replica's RocksDB.
std::map<std::string, std::string> raw_contents(const std::filesystem::path& dir) {
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options{}, dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::map<std::string, std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions{}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace(it->key().ToString(), it->value().ToString());
    return out;
}

// Writes a replica directory in format 1 (before one key per pending
// operation) with raw RocksDB calls, as chunklog wrote it then.
void write_format_1(const std::filesystem::path& dir, const std::vector<std::pair<std::string, std::string>>& records) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    for (const auto& [k, v] : records) REQUIRE(db->Put(sync, k, v).ok());
}

std::string task_json(const task_properties& props) {
    json::object o;
    for (const auto& [k, v] : props) o[k] = v;
    return json::serialize(o);
}

}  // namespace

TEST_SUITE("replica_snapshot") {

TEST_CASE("the snapshot chunk format: canonical, cut into chunks, and strict") {
    std::mt19937 rng(7);  // fixed ids, so the cuts are the same on every run
    auto next_id = [&] {
        uuid::bytes_type b;
        for (auto& byte : b) byte = static_cast<std::uint8_t>(rng());
        return uuid(b);
    };
    task_set tasks;
    for (int i = 0; i < 2000; ++i)
        tasks[next_id()] = {{"description", "task " + std::to_string(i)}, {"status", "pending"}};
    tasks[next_id()] = {};  // a task without properties exists all the same
    auto chunks = encode_snapshot(tasks);
    CHECK(chunks.size() > 1);  // cut after tasks whose id ends in a zero byte: about 8 of them here
    CHECK(encode_snapshot(tasks) == chunks);
    std::vector<std::string_view> views(chunks.begin(), chunks.end());
    CHECK(decode_snapshot(views).value() == tasks);
    std::reverse(views.begin(), views.end());  // order does not matter
    CHECK(decode_snapshot(views).value() == tasks);

    auto first = json::parse(chunks[0]).as_object();
    CHECK(first.at("format") == "chunklog-task-snapshot");
    CHECK(first.at("version") == 1);
    CHECK(first.at("tasks").is_object());

    // One task changed: the other chunks stay the same bytes.
    auto changed = tasks;
    changed.begin()->second["priority"] = "H";
    auto again = encode_snapshot(changed);
    REQUIRE(again.size() == chunks.size());
    CHECK(again[0] != chunks[0]);
    CHECK(std::equal(again.begin() + 1, again.end(), chunks.begin() + 1));

    CHECK(encode_snapshot({}).size() == 1);
    std::string empty = encode_snapshot({})[0];
    CHECK(decode_snapshot(std::vector<std::string_view>{empty}).value().empty());
    CHECK(decode_snapshot(std::vector<std::string_view>{}).value().empty());

    auto id = uuid::random().to_string();
    for (const std::string& bad : std::vector<std::string>{"not json", "[]",
                            R"({"format":"chunklog-task-ops","version":1,"tasks":{}})",
                            R"({"format":"chunklog-task-snapshot","version":2,"tasks":{}})",
                            R"({"format":"chunklog-task-snapshot","version":1,"tasks":[]})",
                            R"({"format":"chunklog-task-snapshot","version":1})",
                            R"({"format":"chunklog-task-snapshot","version":1,"tasks":{"nope":{}}})",
                            R"({"format":"chunklog-task-snapshot","version":1,"tasks":{")" + id + R"(":5}})",
                            R"({"format":"chunklog-task-snapshot","version":1,"tasks":{")" + id + R"(":{"p":1}}})"}) {
        CAPTURE(bad);
        auto r = decode_snapshot(std::vector<std::string_view>{bad});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::bad_request);
    }
    std::string one = R"({"format":"chunklog-task-snapshot","version":1,"tasks":{")" + id + R"(":{}}})";
    CHECK_FALSE(decode_snapshot(std::vector<std::string_view>{one, one}));  // a task in two chunks
}

TEST_CASE_FIXTURE(scripted_fixture, "a high Snapshot-Urgency makes the sync write a snapshot of the synced tasks") {
    auto a = make("a");
    a.add("buy milk", 1);
    server.set_urgency("high");
    auto report = a.sync();
    REQUIRE(report.snapshot);
    CHECK(report.snapshot->transaction == server.head().head);
    CHECK(report.snapshot->seq == 1);
    CHECK_FALSE(report.snapshot_error);
    CHECK(server.snapshot_tasks() == a.tasks());
    CHECK(a.store->snapshot_wanted().value() == snapshot_urgency::none);
}

TEST_CASE_FIXTURE(scripted_fixture, "a low Snapshot-Urgency waits for a sync with nothing to publish") {
    auto a = make("a");
    auto b = make("b");
    auto milk = a.add("buy milk", 1);
    server.set_urgency("low");
    auto busy = a.sync();
    CHECK_FALSE(busy.snapshot);
    CHECK_FALSE(server.snapshot());
    CHECK(a.store->snapshot_wanted().value() == snapshot_urgency::low);

    // Another publish that answers low: still not idle.
    a.set(milk, "priority", "H", 2);
    CHECK_FALSE(a.sync().snapshot);
    // b publishes meanwhile; a's next sync pulls it and has nothing to publish.
    b.add("buy eggs", 3);
    server.set_urgency("");
    b.sync();
    CHECK(b.store->snapshot_wanted().value() == snapshot_urgency::none);
    auto idle = a.sync();
    CHECK(idle.pulled_transactions == 1);
    REQUIRE(idle.snapshot);
    CHECK(idle.snapshot->seq == 3);
    CHECK(server.snapshot_tasks() == a.tasks());
    CHECK(a.store->snapshot_wanted().value() == snapshot_urgency::none);
    CHECK_FALSE(a.sync().snapshot);  // owed no more
}

TEST_CASE_FIXTURE(scripted_fixture, "a snapshot the server refuses is reported, and written by a later sync") {
    auto a = make("a");
    a.add("buy milk", 1);
    server.set_urgency("high");
    server.refuse_snapshots(true);
    auto refused = a.sync();  // the sync itself succeeds
    CHECK(refused.published_operations == 4);
    REQUIRE(refused.snapshot_error);
    CHECK(refused.snapshot_error->code == errc::quota_exceeded);
    CHECK_FALSE(refused.snapshot);
    CHECK(a.store->snapshot_wanted().value() == snapshot_urgency::high);
    server.refuse_snapshots(false);
    auto later = a.sync();
    REQUIRE(later.snapshot);
    CHECK(later.snapshot->seq == 1);
    CHECK(a.store->snapshot_wanted().value() == snapshot_urgency::none);
}

TEST_CASE_FIXTURE(scripted_fixture, "a new replica starts from the snapshot and the transactions after it, in one request") {
    auto a = make("a");
    for (int i = 0; i < 5; ++i) {
        a.add("task " + std::to_string(i), 10 + i);
        server.set_urgency(i == 3 ? "high" : "");
        a.sync();
    }
    REQUIRE(server.snapshot());
    CHECK(server.snapshot()->position.seq == 4);
    auto before = server.received().size();

    auto c = make("c");
    auto local = c.add("made before the first sync", 100);
    auto report = c.sync();
    CHECK(report.from_snapshot);
    CHECK(report.pulled_transactions == 1);  // the fifth; the first four came in the snapshot
    CHECK(report.published_operations == 4);
    auto requests = server.received();
    std::vector<std::string> logs;
    for (auto i = before; i < requests.size(); ++i)
        if (requests[i].target.find("/log?") != std::string::npos) logs.push_back(requests[i].target);
    REQUIRE(logs.size() == 1);
    CHECK(logs[0].find("snapshot=1") != std::string::npos);
    a.sync();
    CHECK(c.tasks() == a.tasks());
    CHECK(c.tasks().size() == 6);
    CHECK(c.tasks().contains(local));
    // Working-set numbers: the local task keeps its own, the snapshot's
    // pending tasks get the next ones by entry time.
    auto ws = c.store->working_set().value();
    REQUIRE(ws.size() == 6);
    CHECK(ws[0] == local);
    for (std::size_t i = 1; i < ws.size(); ++i) {
        REQUIRE(ws[i]);
        CHECK(c.tasks().at(*ws[i]).at("description") == "task " + std::to_string(i - 1));
    }
}

TEST_CASE_FIXTURE(scripted_fixture, "a replica whose base was truncated rebuilds from the snapshot and keeps its pending operations") {
    auto a = make("a");
    auto b = make("b");
    auto milk = a.add("buy milk", 1);
    auto eggs = a.add("buy eggs", 2);
    a.sync();
    b.sync();
    CHECK(b.tasks() == a.tasks());

    // b works offline: a change to a task a deletes meanwhile, one to a task
    // a changes too (b's is later), one to a property nobody else touches,
    // and a new task.
    b.set(milk, "priority", "H", 20);
    b.set(eggs, "project", "home", 21);
    b.set(eggs, "description", "buy brown eggs", 22);
    auto bread = b.add("buy bread", 23);
    auto b_numbers = b.store->working_set().value();

    a.set(eggs, "description", "buy white eggs", 10);
    a.sync();
    REQUIRE(a.store->commit({operation::remove(milk)}));
    a.sync();
    auto tea = a.add("buy tea", 12);
    server.set_urgency("high");
    a.sync();
    server.set_urgency("");
    a.add("buy coffee", 13);  // after the snapshot
    a.sync();
    REQUIRE(server.snapshot());
    server.truncate_before_snapshot();

    auto report = b.sync();
    CHECK(report.from_snapshot);
    CHECK(report.published_operations == 7);  // none lost
    CHECK(b.store->pending_operations().value() == 0);
    a.sync();
    CHECK(b.tasks() == a.tasks());
    auto tasks = a.tasks();
    CHECK_FALSE(tasks.contains(milk));  // deleted: b's update of it dropped
    CHECK(tasks.at(eggs).at("description") == "buy brown eggs");
    CHECK(tasks.at(eggs).at("project") == "home");
    CHECK(tasks.at(bread).at("description") == "buy bread");
    CHECK(tasks.contains(tea));
    // b's working set keeps the numbers of tasks still pending.
    auto numbers = b.store->working_set().value();
    auto eggs_at = std::find(b_numbers.begin(), b_numbers.end(), std::optional(eggs)) - b_numbers.begin();
    REQUIRE(static_cast<std::size_t>(eggs_at) < numbers.size());
    CHECK(numbers[static_cast<std::size_t>(eggs_at)] == eggs);
}

TEST_CASE_FIXTURE(scripted_fixture, "a publish in flight that landed and was then truncated is published again, not lost") {
    auto a = make("a");
    auto b = make("b");
    auto milk = a.add("buy milk", 1);
    a.sync();
    b.sync();
    b.set(milk, "priority", "H", 5);
    server.lose_next_publish_answer();
    auto lost = b.store->sync(b.server, test::task_key());
    REQUIRE_FALSE(lost);  // it landed, but b never heard
    CHECK(lost.error().code == errc::network);
    CHECK(server.head().seq == 2);
    a.set(milk, "project", "home", 6);
    server.set_urgency("high");
    a.sync();
    REQUIRE(server.snapshot());
    server.truncate_before_snapshot();  // b's base and its landed publish go

    auto report = b.sync();
    CHECK(report.from_snapshot);
    CHECK(report.published_operations == 1);  // published again: it cannot be told from one that never landed
    a.sync();
    CHECK(b.tasks() == a.tasks());
    CHECK(a.tasks().at(milk).at("priority") == "H");
    CHECK(a.tasks().at(milk).at("project") == "home");
}

TEST_CASE_FIXTURE(scripted_fixture, "a publish in flight that is still stored after a truncation counts as landed") {
    auto a = make("a");
    auto b = make("b");
    auto milk = a.add("buy milk", 1);
    a.sync();
    b.sync();
    b.set(milk, "priority", "H", 5);
    server.lose_next_publish_answer();
    REQUIRE_FALSE(b.store->sync(b.server, test::task_key()));
    auto landed = server.head();
    a.set(milk, "project", "home", 6);
    server.set_urgency("high");
    a.sync();
    REQUIRE(server.snapshot()->position.seq == 3);
    server.truncate_through(1);  // b's base goes, its publish (seq 2) stays

    auto before = server.chain().size();
    auto report = b.sync();
    CHECK(report.from_snapshot);
    CHECK(report.published_operations == 1);  // acknowledged, not sent again
    CHECK(server.chain().size() == before);
    CHECK(server.chain()[0].id == landed.head);
    CHECK(b.store->pending_operations().value() == 0);
    a.sync();
    CHECK(b.tasks() == a.tasks());
}

TEST_CASE_FIXTURE(scripted_fixture, "a publish in flight that became the snapshot counts as landed") {
    auto a = make("a");
    auto b = make("b");
    auto milk = a.add("buy milk", 1);
    a.sync();
    server.set_urgency("low");
    a.set(milk, "project", "home", 2);
    a.sync();  // seq 2; a owes a snapshot, for when it is idle
    server.set_urgency("");
    b.sync();
    b.set(milk, "priority", "H", 5);
    server.lose_next_publish_answer();
    REQUIRE_FALSE(b.store->sync(b.server, test::task_key()));
    auto landed = server.head();  // b's publish, seq 3
    auto idle = a.sync();  // pulls it, has nothing to publish: the snapshot goes there
    REQUIRE(idle.snapshot);
    CHECK(idle.snapshot->transaction == landed.head);
    server.truncate_through(2);

    auto operations_before = server.operations().size();
    auto report = b.sync();
    CHECK(report.from_snapshot);
    CHECK(report.published_operations == 1);  // acknowledged, not sent again
    CHECK(server.operations().size() == operations_before);
    CHECK(b.store->pending_operations().value() == 0);
    a.sync();
    CHECK(b.tasks() == a.tasks());
    CHECK(b.tasks().at(milk).at("priority") == "H");
}

TEST_CASE("a replica in format 1 is upgraded in place, its pending operations and publish in flight kept") {
    test::temp_dir dir;
    scripted_server server;
    auto user = uuid::random();
    auto milk = uuid::random(), eggs = uuid::random();
    // Format 1 kept them in the legacy chunk format: timestamps in milliseconds.
    const std::vector<operation> old_pending{
        operation::create(milk), operation::update(milk, "description", "buy milk", 1'000'000),
        operation::update(milk, "status", "pending", 1'000'000), operation::create(eggs),
        operation::update(eggs, "description", "buy eggs", 2'000'000), operation::update(eggs, "status", "pending", 2'000'000)};
    write_format_1(dir.path() / "r", {{"p", encode_operations(old_pending)},
                                      {"t" + std::string(milk.raw()), task_json({{"description", "buy milk"}, {"status", "pending"}})},
                                      {"t" + std::string(eggs.raw()), task_json({{"description", "buy eggs"}, {"status", "pending"}})},
                                      {"w", json::serialize(json::array{milk.to_string(), eggs.to_string()})}});
    {
        auto r = replica::open(dir.path() / "r").value();
        CHECK(r->pending_operations().value() == 6);
        CHECK(r->working_set().value() == std::vector<std::optional<uuid>>{milk, eggs});
        REQUIRE(r->commit({operation::update(milk, "priority", "H", 3)}));
        CHECK(r->pending_operations().value() == 7);
    }
    auto raw = raw_contents(dir.path() / "r");
    CHECK_FALSE(raw.contains("p"));
    CHECK(raw.at("v") == "3");
    for (std::uint64_t i = 0; i < 7; ++i) CHECK(raw.contains(key_of(i)));
    CHECK(decode_sync_op(raw.at(key_of(6))).value() == operation::update(milk, "priority", "H", 3));

    node n(dir.path() / "r", server, user);
    auto report = n.sync();
    CHECK(report.published_operations == 7);
    auto expected = old_pending;
    expected.push_back(operation::update(milk, "priority", "H", 3));
    CHECK(server.operations() == expected);  // in their order, in one transaction
    CHECK(server.chain().size() == 1);
    CHECK(n.tasks().at(milk).at("priority") == "H");
}

TEST_CASE("a replica in format 2 opens as format 3, its pending operations in the legacy form still read") {
    test::temp_dir dir;
    scripted_server server;
    auto user = uuid::random();
    auto milk = uuid::random();
    // Format 2 wrote each pending operation as the legacy chunk format's object (milliseconds).
    write_format_1(dir.path() / "r",
                   {{"v", "2"},
                    {key_of(0), R"({"op":"create","task":")" + milk.to_string() + R"("})"},
                    {key_of(1), R"({"op":"update","task":")" + milk.to_string() +
                                    R"(","property":"description","value":"buy milk","timestamp":7})"},
                    {"t" + std::string(milk.raw()), task_json({{"description", "buy milk"}})},
                    {"w", json::serialize(json::array{milk.to_string()})}});
    {
        auto r = replica::open(dir.path() / "r").value();
        CHECK(r->pending_operations().value() == 2);
        REQUIRE(r->commit({operation::update(milk, "status", "pending", 8'000'000)}));
    }
    auto raw = raw_contents(dir.path() / "r");
    CHECK(raw.at("v") == "3");
    CHECK(raw.at(key_of(0)).find("\"op\"") != std::string::npos);  // left as it was: both forms are read
    CHECK(decode_sync_op(raw.at(key_of(2))).value() == operation::update(milk, "status", "pending", 8'000'000));
    node n(dir.path() / "r", server, user);
    CHECK(n.sync().published_operations == 3);
    CHECK(server.operations() == std::vector<operation>{operation::create(milk),
                                                        operation::update(milk, "description", "buy milk", 7'000'000),
                                                        operation::update(milk, "status", "pending", 8'000'000)});
}

TEST_CASE("a format 1 replica with a publish in flight that landed: the upgrade keeps it acknowledged once") {
    test::temp_dir dir;
    scripted_server server;
    auto user = uuid::random();
    auto milk = uuid::random();
    // The legacy chunk format's timestamps are milliseconds.
    const std::vector<operation> sent{operation::create(milk), operation::update(milk, "status", "pending", 1'000'000)};
    const std::vector<operation> later{operation::update(milk, "description", "buy milk", 2'000'000)};
    // The publish landed (another client's view of it: it is on the server).
    {
        client_options o = options_for(server, user);
        client c(o);
        auto chunk = encode_operations(sent);
        transaction_record t{uuid::random(), root_id, 0, {sha256_of(chunk)}};
        REQUIRE(c.publish({{chunk}, {t}, t.id}));
        auto all = sent;
        all.insert(all.end(), later.begin(), later.end());
        write_format_1(dir.path() / "r",
                       {{"p", encode_operations(all)},
                        {"f", json::serialize(json::object{{"id", t.id.to_string()}, {"count", 2}})},
                        {"t" + std::string(milk.raw()), task_json({{"description", "buy milk"}, {"status", "pending"}})},
                        {"w", json::serialize(json::array{milk.to_string()})}});
    }
    node n(dir.path() / "r", server, user);
    auto report = n.sync();
    CHECK(report.published_operations == 3);  // 2 acknowledged, 1 published
    CHECK(server.chain().size() == 2);
    auto expected = sent;
    expected.insert(expected.end(), later.begin(), later.end());
    CHECK(server.operations() == expected);
}

TEST_CASE("a replica of an unknown format, or with a damaged format 1 record, does not open") {
    struct damage {
        const char* what;
        std::vector<std::pair<std::string, std::string>> records;
        const char* message;
    };
    const std::vector<damage> cases{
        {"a newer format", {{"v", "4"}}, "newer than this version"},
        {"a format record that is not a number", {{"v", "two"}}, "corrupt replica"},
        {"format 1 pending operations that do not decode", {{"p", "garbage"}}, "corrupt replica"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        test::temp_dir dir;
        write_format_1(dir.path(), c.records);
        auto before = raw_contents(dir.path());
        auto r = replica::open(dir.path());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::internal);
        CHECK(r.error().message.find(c.message) != std::string::npos);
        CHECK(raw_contents(dir.path()) == before);  // left as it was
    }
}

TEST_CASE("a commit writes only its own operations, however many are pending") {
    test::temp_dir dir;
    constexpr std::uint64_t commits = 400;
    auto task = uuid::random();
    {
        auto r = replica::open(dir.path()).value();
        REQUIRE(r->commit({operation::create(task)}));
        for (std::uint64_t i = 1; i < commits; ++i)
            REQUIRE(r->commit({operation::update(task, "description", "revision " + std::to_string(i),
                                                 static_cast<std::int64_t>(i))}));
        CHECK(r->pending_operations().value() == commits);
    }
    // Everything the replica wrote is still in its write-ahead log and
    // tables: one rewritten list would be about commits^2 / 2 operations
    // (some 8 MB here); one record per operation stays near commits x 300 bytes.
    std::uintmax_t written = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.path()))
        if (f.path().extension() == ".log" || f.path().extension() == ".sst") written += f.file_size();
    CHECK(written < commits * 1024);
    auto raw = raw_contents(dir.path());
    CHECK(raw.contains(key_of(commits - 1)));
    CHECK_FALSE(raw.contains("p"));
}

}
