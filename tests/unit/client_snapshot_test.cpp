// The client's snapshot calls (protocol section 8) against a fake server:
// Snapshot-Urgency of publish and PUT head, put_snapshot uploading only what
// the server lacks, get_snapshot, pull_with_snapshot's pages, and 410
// history_truncated carrying the snapshot. Every wrong shape is an error
// value, never a throw or a callback with half-checked data.
#include "support/fake_server.hpp"
#include "support/outcome_printer.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <vector>

using namespace chunklog;
using test::fake_request;
using test::fake_response;
using test::fake_server;

namespace {

const std::string root_text = root_id.to_string();
const std::string tx_text = "6f9619ff-8b86-4d01-b42d-00c04fc964ff";
const std::string tx2_text = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string snap_text = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

client_options options_for(const fake_server& server) {
    client_options o;
    o.server_url = server.url();
    o.user = uuid::random();
    o.retries = 1;
    o.backoff = std::chrono::milliseconds(1);
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// A well-framed answer with extra header lines ("Name: value").
fake_response answer(unsigned status, const std::string& body, const std::vector<std::string>& headers = {},
                     const std::string& content_type = "application/json") {
    std::ostringstream out;
    out << "HTTP/1.1 " << status << " Fake\r\nContent-Type: " << content_type << "\r\n";
    for (const auto& h : headers) out << h << "\r\n";
    out << "Content-Length: " << body.size() << "\r\n\r\n" << body;
    return {out.str(), false};
}

std::string line(const boost::json::object& o) { return boost::json::serialize(o) + "\n"; }
std::string chunk_line(const std::string& bytes) {
    return line({{"chunk", {{"id", sha256_of(bytes).to_string()}, {"data", base64_encode(bytes)}}}});
}
std::string snapshot_line(const std::string& id, const boost::json::value& seq, const std::vector<std::string>& chunks) {
    boost::json::array ids;
    for (const auto& c : chunks) ids.emplace_back(sha256_of(c).to_string());
    return line({{"snapshot", {{"transaction", id}, {"seq", seq}, {"chunks", ids}}}});
}
std::string tx_line(const std::string& id, const std::string& parent, std::uint64_t seq,
                    const std::vector<std::string>& chunks) {
    boost::json::array ids;
    for (const auto& c : chunks) ids.emplace_back(sha256_of(c).to_string());
    return line({{"transaction", {{"id", id}, {"parent", parent}, {"seq", seq}, {"chunks", ids}}}});
}
std::string end_line(const std::string& last, bool more) {
    return line({{"end", {{"head", last}, {"last", last}, {"more", more}}}});
}
fake_response page(const std::string& body) { return answer(200, body, {}, "application/x-ndjson"); }

// What pull_with_snapshot handed over, in order: "snapshot:<seq>:<chunks>" and "tx:<seq>:<chunks>".
struct pull_record {
    std::vector<std::string> events;
    outcome<uuid> result = root_id;
};

pull_record pull_from(fake_server& server, const uuid& from = root_id) {
    client c(options_for(server));
    pull_record out;
    auto join = [](const std::vector<std::string_view>& chunks) {
        std::string s;
        for (auto c : chunks) s += std::string(c) + ",";
        return s;
    };
    CHECK_NOTHROW(out.result = c.pull_with_snapshot(
                      from,
                      [&](const pulled_snapshot& s) -> outcome<void> {
                          out.events.push_back("snapshot:" + std::to_string(s.position.seq) + ":" + join(s.chunks));
                          return {};
                      },
                      [&](const pulled_transaction& t) -> outcome<void> {
                          out.events.push_back("tx:" + std::to_string(t.record.seq) + ":" + join(t.chunks));
                          return {};
                      }));
    return out;
}

}  // namespace

TEST_SUITE("client_snapshot") {

TEST_CASE("Snapshot-Urgency of the last publish or PUT head is kept, and reset by the next call") {
    std::atomic<int> step{0};
    const std::string head = R"({"head":")" + tx_text + R"(","seq":1})";
    fake_server server([&](const fake_request& r) {
        if (r.target.ends_with("/chunks/missing")) return answer(200, R"({"missing":[]})");
        switch (step.load()) {
        case 0: return answer(200, head, {"Snapshot-Urgency: low"});
        case 1: return answer(200, head, {"Snapshot-Urgency: high"});
        case 2: return answer(200, head);
        case 3: return answer(200, head, {"Snapshot-Urgency: someday"});
        case 4: return answer(204, "", {"Snapshot-Urgency: high"});
        case 5: return answer(409, R"({"error":"conflict","message":"no","head":")" + tx_text + "\"}",
                              {"Snapshot-Urgency: high"});
        default: return answer(204, "", {"Snapshot-Urgency: low"});
        }
    });
    client c(options_for(server));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::none);
    const publish_batch batch{{"x"}, {}, std::nullopt};
    REQUIRE(c.publish(batch));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::low);
    step = 1;
    REQUIRE(c.publish(batch));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::high);
    step = 2;
    REQUIRE(c.publish(batch));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::none);
    step = 3;
    REQUIRE(c.publish(batch));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::none);  // a value this version does not know
    step = 4;
    REQUIRE(c.advance_head(uuid::random()));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::high);
    step = 5;
    REQUIRE_FALSE(c.advance_head(uuid::random()));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::none);  // a failed call: none
    step = 6;
    REQUIRE(c.advance_head(uuid::random()));
    CHECK(c.last_snapshot_urgency() == snapshot_urgency::low);
    CHECK(urgency_name(snapshot_urgency::high) == "high");
}

TEST_CASE("put_snapshot sends the snapshot first, uploads only the chunks the server lacks, then sends it again") {
    const std::vector<std::string> chunks{"part one", "part two", "part one"};
    const auto two = sha256_of("part two").to_string();
    std::atomic<int> puts{0};
    fake_server server([&](const fake_request& r) {
        if (r.method == "PUT" && r.target.find("/snapshots/") != std::string::npos) {
            if (puts++ == 0)
                return answer(404, R"({"error":"missing_chunks","message":"m","missing":[")" + two + R"("]})");
            return answer(201, R"({"transaction":")" + tx_text + R"(","seq":7})");
        }
        if (r.method == "PUT" && r.target.find("/chunks/") != std::string::npos)
            return answer(201, R"({"id":")" + two + R"(","size":8})");
        return answer(500, R"({"error":"internal","message":"unexpected"})");
    });
    client c(options_for(server));
    auto written = c.put_snapshot(*uuid::parse(tx_text), chunks);
    REQUIRE(written);
    CHECK(written->created);
    CHECK(written->in_force == snapshot_position{*uuid::parse(tx_text), 7});
    auto seen = server.received();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].target.ends_with("/snapshots/" + tx_text));
    auto body = boost::json::parse(seen[0].body).as_object();
    CHECK(body.at("chunks").as_array().size() == 3);  // order and repeats kept
    CHECK(body.at("chunks").as_array()[1].as_string() == two);
    CHECK(seen[1].target.ends_with("/chunks/" + two));
    CHECK(seen[1].body == "part two");
    CHECK(seen[2].body == seen[0].body);
}

TEST_CASE("put_snapshot: a snapshot the server keeps instead, and the failures") {
    auto id = *uuid::parse(tx_text);
    const std::vector<std::string> chunks{"state"};
    auto run = [&](const fake_response& first) {
        fake_server server([&](const fake_request& r) {
            if (r.target.find("/chunks/") != std::string::npos)
                return answer(201, R"({"id":")" + sha256_of("state").to_string() + R"(","size":5})");
            return first;
        });
        client c(options_for(server));
        outcome<snapshot_written> out = make_error(errc::internal, "not run");
        CHECK_NOTHROW(out = c.put_snapshot(id, chunks));
        return std::pair{out, server.requests()};
    };
    auto [kept, requests] = run(answer(200, R"({"transaction":")" + tx2_text + R"(","seq":9})"));
    REQUIRE(kept);
    CHECK_FALSE(kept->created);
    CHECK(kept->in_force == snapshot_position{*uuid::parse(tx2_text), 9});
    CHECK(requests == 1);  // nothing uploaded

    CHECK(run(answer(404, R"({"error":"not_found","message":"not committed"})")).first.error().code == errc::not_found);
    // A server that keeps saying chunks are missing: three tries, then its answer.
    auto [stubborn, tries] = run(answer(404, R"({"error":"missing_chunks","message":"m","missing":[")" +
                                             sha256_of("state").to_string() + R"("]})"));
    CHECK(stubborn.error().code == errc::missing_chunks);
    CHECK(tries == 5);  // three PUT snapshots, two uploads between them
    for (const auto& bad : {answer(404, R"({"error":"missing_chunks","message":"m","missing":[")" +
                                            sha256_of("other").to_string() + R"("]})"),
                            answer(201, R"({"transaction":")" + tx2_text + R"(","seq":9})"),  // created another
                            answer(201, R"({"transaction":")" + tx_text + R"("})"),
                            answer(201, R"({"transaction":")" + root_text + R"(","seq":0})"),
                            answer(201, "not json")}) {
        CHECK(run(bad).first.error().code == errc::internal);
    }
}

TEST_CASE("get_snapshot decodes the snapshot, and refuses wrong shapes") {
    const auto c1 = sha256_of("a").to_string();
    auto get = [](const fake_response& r) {
        fake_server server([&](const fake_request&) { return r; });
        client c(options_for(server));
        outcome<snapshot_info> out = make_error(errc::internal, "not run");
        CHECK_NOTHROW(out = c.get_snapshot());
        return out;
    };
    auto good = get(answer(200, R"({"transaction":")" + tx_text + R"(","seq":3,"chunks":[")" + c1 +
                                    R"("],"created":"2026-11-30T12:00:00Z"})"));
    REQUIRE(good);
    CHECK(good->position == snapshot_position{*uuid::parse(tx_text), 3});
    CHECK(good->chunks == std::vector<digest>{sha256_of("a")});
    CHECK(good->created == "2026-11-30T12:00:00Z");
    CHECK(get(answer(404, R"({"error":"not_found","message":"none"})")).error().code == errc::not_found);
    for (const auto& body : std::vector<std::string>{R"({"transaction":")" + tx_text + R"(","seq":3,"chunks":["zz"],"created":"x"})",
                             R"({"transaction":")" + tx_text + R"(","seq":3,"chunks":[]})",
                             R"({"transaction":"nope","seq":3,"chunks":[],"created":"x"})",
                             R"({"transaction":")" + tx_text + R"(","seq":-1,"chunks":[],"created":"x"})"}) {
        CAPTURE(body);
        CHECK(get(answer(200, body)).error().code == errc::internal);
    }
}

TEST_CASE("410 history_truncated carries the snapshot to start from") {
    auto pull = [](const fake_response& r) {
        fake_server server([&](const fake_request&) { return r; });
        client c(options_for(server));
        outcome<uuid> out = root_id;
        CHECK_NOTHROW(out = c.pull(root_id, [](const pulled_transaction&) -> outcome<void> { return {}; }));
        REQUIRE_FALSE(out);
        return out.error();
    };
    auto e = pull(answer(410, R"({"error":"history_truncated","message":"gone","snapshot":{"transaction":")" +
                                  tx_text + R"(","seq":40}})"));
    CHECK(e.code == errc::history_truncated);
    REQUIRE(e.snapshot);
    CHECK(*e.snapshot == snapshot_position{*uuid::parse(tx_text), 40});
    auto without = pull(answer(410, R"({"error":"history_truncated","message":"gone","snapshot":null})"));
    CHECK(without.code == errc::history_truncated);
    CHECK_FALSE(without.snapshot);
    CHECK(pull(answer(410, R"({"error":"history_truncated","message":"gone","snapshot":5})")).code == errc::internal);
    CHECK(pull(answer(410, R"({"error":"history_truncated","message":"gone","snapshot":{"transaction":"x","seq":1}})"))
              .code == errc::internal);
}

TEST_CASE("pull_with_snapshot hands over the snapshot, then the transactions after it, in one pass") {
    // One page: the snapshot's two chunks, its line, then two transactions;
    // the second names a chunk of the snapshot, sent once in the response.
    const std::string body = chunk_line("s1") + chunk_line("s2") + snapshot_line(snap_text, 5, {"s1", "s2"}) +
                             chunk_line("t1") + tx_line(tx_text, snap_text, 6, {"t1"}) +
                             tx_line(tx2_text, tx_text, 7, {"s2", "t1"}) + end_line(tx2_text, false);
    fake_server server([&](const fake_request&) { return page(body); });
    auto p = pull_from(server);
    CHECK(p.result.value() == *uuid::parse(tx2_text));
    CHECK(p.events == std::vector<std::string>{"snapshot:5:s1,s2,", "tx:6:t1,", "tx:7:s2,t1,"});
    auto seen = server.received();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].target.find("snapshot=1") != std::string::npos);
    CHECK(seen[0].target.find("from=" + root_text) != std::string::npos);
}

TEST_CASE("pull_with_snapshot: a page of the snapshot alone, then pages without snapshot=1") {
    fake_server server([&](const fake_request& r) {
        if (r.target.find("from=" + root_text) != std::string::npos)
            return page(chunk_line("s1") + snapshot_line(snap_text, 5, {"s1"}) + end_line(snap_text, true));
        return page(chunk_line("t1") + tx_line(tx_text, snap_text, 6, {"t1"}) + end_line(tx_text, false));
    });
    auto p = pull_from(server);
    CHECK(p.result.value() == *uuid::parse(tx_text));
    CHECK(p.events == std::vector<std::string>{"snapshot:5:s1,", "tx:6:t1,"});
    auto seen = server.received();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].target.find("from=" + snap_text) != std::string::npos);
    CHECK(seen[1].target.find("snapshot=1") == std::string::npos);

    // A snapshot and nothing after it: the pull ends at the snapshot.
    fake_server alone([&](const fake_request&) {
        return page(chunk_line("s1") + snapshot_line(snap_text, 5, {"s1"}) + end_line(snap_text, false));
    });
    auto only = pull_from(alone);
    CHECK(only.result.value() == *uuid::parse(snap_text));
    CHECK(only.events == std::vector<std::string>{"snapshot:5:s1,"});

    // No snapshot later than `from`: a plain pull.
    fake_server plain([&](const fake_request&) {
        return page(chunk_line("t1") + tx_line(tx_text, root_text, 1, {"t1"}) + end_line(tx_text, false));
    });
    CHECK(pull_from(plain).events == std::vector<std::string>{"tx:1:t1,"});
}

TEST_CASE("a malformed snapshot page fails the pull before anything is handed over") {
    const std::string s1 = chunk_line("s1");
    const std::string snap = snapshot_line(snap_text, 5, {"s1"});
    const std::vector<std::pair<std::string, std::string>> pages{
        {"a snapshot naming a chunk the page did not send", snap + end_line(snap_text, false)},
        {"a snapshot after a transaction",
         s1 + chunk_line("t1") + tx_line(tx_text, root_text, 1, {"t1"}) + snap + end_line(snap_text, false)},
        {"two snapshots", s1 + snap + snap + end_line(snap_text, false)},
        {"a transaction that does not follow the snapshot",
         s1 + snap + chunk_line("t1") + tx_line(tx_text, root_text, 6, {"t1"}) + end_line(tx_text, false)},
        {"a transaction with the wrong seq after the snapshot",
         s1 + snap + chunk_line("t1") + tx_line(tx_text, snap_text, 9, {"t1"}) + end_line(tx_text, false)},
        {"`last` that is not the snapshot", s1 + snap + end_line(root_text, false)},
        {"a snapshot of ROOT", s1 + snapshot_line(root_text, 0, {"s1"}) + end_line(root_text, false)},
        {"a snapshot seq that is a string", s1 + snapshot_line(snap_text, "5", {"s1"}) + end_line(snap_text, false)},
        {"a snapshot without chunks",
         s1 + line({{"snapshot", {{"transaction", snap_text}, {"seq", 5}}}}) + end_line(snap_text, false)},
    };
    for (const auto& malformed : pages) {
        const auto& what = malformed.first;
        const auto& body = malformed.second;
        CAPTURE(what);
        fake_server server([&](const fake_request& r) {
            return r.target.find("from=" + root_text) != std::string::npos ? page(body) : fake_response::drop();
        });
        auto p = pull_from(server);
        REQUIRE_FALSE(p.result);
        CHECK(p.result.error().code == errc::internal);
        CHECK(p.events.empty());
    }
    // A snapshot whose chunk bytes do not match their id.
    fake_server wrong([&](const fake_request&) {
        return page(line({{"chunk", {{"id", sha256_of("s1").to_string()}, {"data", base64_encode("s2")}}}}) + snap +
                    end_line(snap_text, false));
    });
    auto p = pull_from(wrong);
    CHECK(p.result.error().code == errc::hash_mismatch);
    CHECK(p.events.empty());

    // A snapshot line in a page asked for without snapshot=1.
    fake_server unasked([&](const fake_request&) { return page(s1 + snap + end_line(snap_text, false)); });
    client c(options_for(unasked));
    auto plain = c.pull(root_id, [](const pulled_transaction&) -> outcome<void> { return {}; });
    CHECK(plain.error().code == errc::internal);
}

TEST_CASE("a snapshot callback error stops the pull and is returned") {
    fake_server server([&](const fake_request&) {
        return page(chunk_line("s1") + snapshot_line(snap_text, 5, {"s1"}) + chunk_line("t1") +
                    tx_line(tx_text, snap_text, 6, {"t1"}) + end_line(tx_text, false));
    });
    client c(options_for(server));
    int transactions = 0;
    auto r = c.pull_with_snapshot(
        root_id, [](const pulled_snapshot&) -> outcome<void> { return make_error(errc::bad_request, "no thanks"); },
        [&](const pulled_transaction&) -> outcome<void> {
            ++transactions;
            return {};
        });
    CHECK(r.error().code == errc::bad_request);
    CHECK(transactions == 0);
}

}
