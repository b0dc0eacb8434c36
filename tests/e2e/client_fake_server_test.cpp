// The client library against a fake server that answers with every wrong
// shape a broken or hostile server could send: each call returns an error
// value (never a throw, a crash, a hang or partial data as success). Also
// what the client sends again after a failure, and its response size limit.
#include "support/fake_server.hpp"
#include "support/outcome_printer.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/client.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <functional>

using namespace chunklog;
using test::fake_request;
using test::fake_response;
using test::fake_server;

namespace {

const std::string root_text = root_id.to_string();
const std::string tx_text = "6f9619ff-8b86-4d01-b42d-00c04fc964ff";
const std::string chunk_text = sha256_of("buy milk").to_string();

client_options options_for(const fake_server& server) {
    client_options o;
    o.server_url = server.url();
    o.user = uuid::random();
    o.retries = 2;
    o.backoff = std::chrono::milliseconds(1);
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// Runs `call` against a server answering every request with `answer`
// (POST chunks/missing excepted: it gets `missing`). Returns the error code,
// or nullopt when the call succeeded; fails the test if the call throws.
template <typename Call>
std::optional<errc> failure_of(const fake_response& answer, Call call,
                               const fake_response& missing = fake_response::http(200, R"({"missing":[]})")) {
    fake_server server([&](const fake_request& r) {
        return r.target.ends_with("/chunks/missing") ? missing : answer;
    });
    client c(options_for(server));
    std::optional<errc> code;
    CHECK_NOTHROW([&] {
        auto result = call(c);
        if (!result) code = result.error().code;
    }());
    return code;
}

struct bad_answer {
    std::string what;
    fake_response answer;
};

std::vector<bad_answer> garbage(unsigned status) {
    return {{"not JSON", fake_response::http(status, "this is not JSON", "text/plain")},
            {"empty", fake_response::http(status, "")},
            {"truncated JSON", fake_response::http(status, R"({"head":"00000000-0000-)")},
            {"an array", fake_response::http(status, "[1,2,3]")},
            {"null", fake_response::http(status, "null")},
            {"an empty object", fake_response::http(status, "{}")}};
}

std::vector<bad_answer> bad_heads(unsigned status) {
    auto out = garbage(status);
    const std::vector<std::pair<const char*, std::string>> bodies{
        {"head is a number", R"({"head":5,"seq":1})"},
        {"head is not a UUID", R"({"head":"nope","seq":1})"},
        {"head in upper case", R"({"head":"6F9619FF-8B86-4D01-B42D-00C04FC964FF","seq":1})"},
        {"no head", R"({"seq":1})"},
        {"no seq", R"({"head":")" + tx_text + R"("})"},
        {"seq is a string", R"({"head":")" + tx_text + R"(","seq":"1"})"},
        {"seq is negative", R"({"head":")" + tx_text + R"(","seq":-1})"},
        {"seq is fractional", R"({"head":")" + tx_text + R"(","seq":1.5})"},
        {"seq 0 for a transaction", R"({"head":")" + tx_text + R"(","seq":0})"},
    };
    for (const auto& [what, body] : bodies) out.push_back({what, fake_response::http(status, body)});
    return out;
}

std::vector<bad_answer> bad_errors() {
    return {{"an error that is a number", fake_response::http(409, R"({"error":5})")},
            {"a conflict with a malformed head", fake_response::http(409, R"({"error":"conflict","head":"x"})")},
            {"missing_chunks with a malformed id",
             fake_response::http(404, R"({"error":"missing_chunks","missing":["zz"]})")},
            {"an HTML error page", fake_response::http(500, "<html>oops</html>", "text/html")},
            {"a redirect", fake_response::http(302, "")},
            {"an unexpected success status", fake_response::http(202, "{}")}};
}

template <typename Call>
void check_all_fail(const std::vector<bad_answer>& answers, Call call, errc expected = errc::internal) {
    for (const auto& a : answers) {
        CAPTURE(a.what);
        CHECK(failure_of(a.answer, call) == expected);
    }
}

std::vector<bad_answer> with(std::vector<bad_answer> a, const std::vector<bad_answer>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Lines of GET log.
std::string line(const boost::json::object& o) { return boost::json::serialize(o) + "\n"; }
std::string chunk_line(const std::string& id, const std::string& data) {
    return line({{"chunk", {{"id", id}, {"data", data}}}});
}
std::string chunk_line(const std::string& bytes) { return chunk_line(sha256_of(bytes).to_string(), base64_encode(bytes)); }
std::string tx_line(const std::string& id, const std::string& parent, const boost::json::value& seq,
                    const boost::json::array& chunks) {
    return line({{"transaction", {{"id", id}, {"parent", parent}, {"seq", seq}, {"chunks", chunks}}}});
}
std::string end_line(const std::string& last, const boost::json::value& more) {
    return line({{"end", {{"head", last}, {"last", last}, {"more", more}}}});
}

const std::string good_chunk = chunk_line("buy milk");
const std::string good_tx = tx_line(tx_text, root_text, 1, {chunk_text});
const std::string good_end = end_line(tx_text, false);

// Pulls a page served once (later requests are dropped, so a client that
// would loop cannot hang the test); counts the transactions handed over.
std::optional<errc> pull_failure(const fake_response& page, int& handed_over) {
    std::atomic<int> served{0};
    fake_server server([&](const fake_request&) { return served++ == 0 ? page : fake_response::drop(); });
    client c(options_for(server));
    std::optional<errc> code;
    CHECK_NOTHROW([&] {
        auto last = c.pull(root_id, [&](const pulled_transaction&) -> outcome<void> {
            ++handed_over;
            return {};
        });
        if (!last) code = last.error().code;
    }());
    return code;
}

}  // namespace

TEST_SUITE("client") {

TEST_CASE("wrong shapes of HEAD, publish and info answers are errors, never throws") {
    auto heads = with(bad_heads(200), bad_errors());
    check_all_fail(heads, [](client& c) { return c.head(); });
    check_all_fail(heads, [](client& c) { return c.wait_head(root_id, std::chrono::seconds(1)); });
    check_all_fail(heads, [](client& c) { return c.publish({{"x"}, {}, std::nullopt}); });
    check_all_fail(with(bad_heads(200), bad_errors()), [](client& c) { return c.info(); });
    const auto head = R"("head":")" + tx_text + R"(","seq":1)";
    check_all_fail({{"no counts", fake_response::http(200, "{" + head + "}")},
                    {"a count that is a string",
                     fake_response::http(200, "{" + head + R"(,"transactions":1,"chunks":"2","bytes":3})")},
                    {"a negative count",
                     fake_response::http(200, "{" + head + R"(,"transactions":1,"chunks":2,"bytes":-3})")}},
                   [](client& c) { return c.info(); });
    // The well-formed answers the cases above break do decode.
    CHECK(failure_of(fake_response::http(200, "{" + head + "}"), [](client& c) { return c.head(); }) == std::nullopt);
    CHECK(failure_of(fake_response::http(200, "{" + head + R"(,"transactions":1,"chunks":2,"bytes":3})"),
                     [](client& c) { return c.info(); }) == std::nullopt);
}

TEST_CASE("an id that does not parse fails the call instead of being skipped") {
    auto listed = [](const std::string& body) { return fake_response::http(200, body); };
    check_all_fail(with(with(garbage(200), bad_errors()),
                        {{"a malformed id", listed(R"({"transactions":[")" + tx_text + R"(","nope"]})")},
                         {"a number among ids", listed(R"({"transactions":[")" + tx_text + R"(",7]})")},
                         {"not an array", listed(R"({"transactions":"x"})")}}),
                   [](client& c) { return c.list(); });

    const auto record = [](const std::string& fields) {
        return fake_response::http(200, R"({"id":")" + tx_text + R"(","parent":")" + root_text + "\"," + fields + "}");
    };
    auto id = *uuid::parse(tx_text);
    check_all_fail(with(with(garbage(200), bad_errors()),
                        {{"a malformed chunk id", record(R"("seq":1,"chunks":[")" + chunk_text + R"(","zz"])")},
                         {"chunks not an array", record(R"("seq":1,"chunks":"x")")},
                         {"no chunks", record(R"("seq":1)")},
                         {"no seq", record(R"("chunks":[])")}}),
                   [&](client& c) { return c.transaction(id); });
    CHECK(failure_of(record(R"("seq":1,"chunks":[")" + chunk_text + R"("])"),
                     [&](client& c) { return c.transaction(id); }) == std::nullopt);
    CHECK(failure_of(record(R"("seq":1,"chunks":[])"), [](client& c) { return c.transaction(uuid::random()); }) ==
          errc::internal);  // the answer names another transaction

    std::vector<digest> asked{sha256_of("a"), sha256_of("b")};
    auto missing = [](const std::string& body) { return fake_response::http(200, body); };
    auto call = [&](client& c) { return c.missing_chunks(asked); };
    for (const auto& a : with(with(garbage(200), bad_errors()),
                              {{"a malformed id", missing(R"({"missing":["zz"]})")},
                               {"a number", missing(R"({"missing":[5]})")},
                               {"an object", missing(R"({"missing":{}})")},
                               {"an id not asked for", missing(R"({"missing":[")" + chunk_text + R"("]})")}})) {
        CAPTURE(a.what);
        CHECK(failure_of(a.answer, call, a.answer) == errc::internal);
    }
}

TEST_CASE("uploads, downloads, advances and deletes fail on wrong answers") {
    check_all_fail(with(garbage(201), bad_errors()), [](client& c) { return c.put_chunk("x"); });
    check_all_fail({{"another chunk id", fake_response::http(201, R"({"id":")" + chunk_text + R"(","size":8})")}},
                   [](client& c) { return c.put_chunk("x"); });
    auto x_id = sha256_of("x").to_string();
    CHECK(failure_of(fake_response::http(201, R"({"id":")" + x_id + R"(","size":1})"),
                     [](client& c) { return c.put_chunk("x"); }) == std::nullopt);

    transaction_record t{*uuid::parse(tx_text), root_id, 0, {sha256_of("buy milk")}};
    auto stored = [&](const std::string& chunks) {
        return fake_response::http(201, R"({"id":")" + tx_text + R"(","parent":")" + root_text +
                                            R"(","seq":1,"chunks":)" + chunks + "}");
    };
    check_all_fail(with(with(garbage(201), bad_errors()),
                        {{"other chunks", stored("[]")}, {"a malformed chunk id", stored(R"(["zz"])")}}),
                   [&](client& c) { return c.put_transaction(t); });
    CHECK(failure_of(stored(R"([")" + chunk_text + R"("])"), [&](client& c) { return c.put_transaction(t); }) ==
          std::nullopt);

    check_all_fail(bad_errors(), [](client& c) { return c.advance_head(uuid::random()); });
    check_all_fail(bad_errors(), [](client& c) { return c.delete_user(); });
    check_all_fail({{"wrong bytes", fake_response::http(200, "not the chunk", "application/octet-stream")}},
                   [](client& c) { return c.get_chunk(sha256_of("buy milk")); }, errc::hash_mismatch);
    check_all_fail(bad_errors(), [](client& c) { return c.get_chunk(sha256_of("buy milk")); });
}

TEST_CASE("a malformed log page fails the pull before any transaction is handed over") {
    auto page = [](const std::string& body) { return fake_response::http(200, body, "application/x-ndjson"); };
    int handed_over = 0;
    REQUIRE(pull_failure(page(good_chunk + good_tx + good_end), handed_over) == std::nullopt);
    REQUIRE(handed_over == 1);

    const std::vector<bad_answer> pages{
        {"cut in the middle of a line", page(good_chunk + good_tx.substr(0, good_tx.size() / 2))},
        {"no end line", page(good_chunk + good_tx)},
        {"a line that is not JSON", page(good_chunk + "garbage\n" + good_tx + good_end)},
        {"a transaction naming a chunk that never came", page(good_tx + good_end)},
        {"a malformed chunk id in a transaction",
         page(good_chunk + tx_line(tx_text, root_text, 1, {chunk_text, "zz"}) + good_end)},
        {"chunks that are not an array",
         page(good_chunk + line({{"transaction", {{"id", tx_text}, {"parent", root_text}, {"seq", 1}, {"chunks", "x"}}}}) +
              good_end)},
        {"a seq that is a string", page(good_chunk + tx_line(tx_text, root_text, "1", {chunk_text}) + good_end)},
        {"a transaction that does not follow `from`",
         page(good_chunk + tx_line(tx_text, tx_text, 1, {chunk_text}) + good_end)},
        {"chunk data that is not base64", page(chunk_line(chunk_text, "!!!") + good_tx + good_end)},
        {"chunk data that is a number", page(line({{"chunk", {{"id", chunk_text}, {"data", 5}}}}) + good_tx + good_end)},
        {"a malformed chunk line id", page(chunk_line("zz", base64_encode("buy milk")) + end_line(root_text, false))},
        {"`more` that is not a boolean", page(good_chunk + good_tx + end_line(tx_text, "yes"))},
        {"`last` that is not the last transaction", page(good_chunk + good_tx + end_line(root_text, false))},
        {"more to come but no transaction", page(end_line(root_text, true))},
        {"a line after the end line", page(good_chunk + good_tx + good_end + good_end)},
        {"a line of unknown kind", page(good_chunk + line({{"surprise", 1}}) + good_tx + good_end)},
        {"a line with two kinds", page(good_chunk + line({{"end", 1}, {"transaction", 2}}) + good_tx + good_end)},
        {"an error with a non-JSON body", fake_response::http(500, "oops", "text/plain")},
    };
    for (const auto& p : pages) {
        CAPTURE(p.what);
        handed_over = 0;
        CHECK(pull_failure(p.answer, handed_over) == errc::internal);
        CHECK(handed_over == 0);
    }
    handed_over = 0;
    CHECK(pull_failure(page(chunk_line(chunk_text, base64_encode("buy eggs")) + good_tx + good_end), handed_over) ==
          errc::hash_mismatch);
    CHECK(handed_over == 0);
    CHECK(pull_failure(fake_response::chunked_cut(good_chunk + good_tx + good_end, good_chunk.size() + 10),
                       handed_over) == errc::network);
    CHECK(handed_over == 0);
}

TEST_CASE("pull follows pages the server ended early, one transaction at a time") {
    const std::string second = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const std::string eggs = sha256_of("buy eggs").to_string();
    // Page 1: the first transaction, more to come. Page 2: the second, which
    // names the first's chunk twice (sent again: once per response) and a new one.
    fake_server server([&](const fake_request& r) {
        auto page = r.target.find("from=" + root_text) != std::string::npos
                        ? good_chunk + good_tx + end_line(tx_text, true)
                        : good_chunk + chunk_line("buy eggs") + tx_line(second, tx_text, 2, {chunk_text, eggs, chunk_text}) +
                              end_line(second, false);
        return fake_response::http(200, page, "application/x-ndjson");
    });
    client c(options_for(server));
    std::vector<std::vector<std::string>> handed_over;
    auto last = c.pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
        handed_over.emplace_back(t.chunks.begin(), t.chunks.end());
        return {};
    });
    CHECK(last.value() == *uuid::parse(second));
    CHECK(handed_over == std::vector<std::vector<std::string>>{{"buy milk"}, {"buy milk", "buy eggs", "buy milk"}});
    auto seen = server.received();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].target.find("from=" + tx_text) != std::string::npos);
}

TEST_CASE("a DELETE whose connection broke is not sent again") {
    fake_server server([](const fake_request& r) {
        if (r.method == "DELETE") return fake_response::drop();
        return fake_response::http(200, R"({"head":")" + root_text + R"(","seq":0})");
    });
    auto o = options_for(server);
    o.retries = 4;
    client c(o);
    REQUIRE(c.head());  // a keep-alive connection is open: DELETE must not reuse it
    auto deleted = c.delete_user();
    REQUIRE_FALSE(deleted);
    CHECK(deleted.error().code == errc::network);
    auto seen = server.received();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].method == "DELETE");
    CHECK(c.requests_sent() == 2);
}

TEST_CASE("a DELETE answered 503 is not sent again, a GET is") {
    fake_server server([](const fake_request&) {
        return fake_response::http(503, R"({"error":"unavailable","message":"busy"})");
    });
    client c(options_for(server));
    CHECK(c.delete_user().error().code == errc::unavailable);
    CHECK(server.requests() == 1);
    CHECK(c.head().error().code == errc::unavailable);
    CHECK(server.requests() == 1 + 3);  // retries = 2
}

TEST_CASE("a GET whose connection broke is sent again") {
    std::atomic<int> served{0};
    fake_server server([&](const fake_request&) {
        if (served++ == 0) return fake_response::drop();
        return fake_response::http(200, R"({"head":")" + root_text + R"(","seq":0})");
    });
    client c(options_for(server));
    CHECK(c.head().value() == head_state{});
    CHECK(server.requests() == 2);
}

TEST_CASE("a DELETE is retried when no connection could be made") {
    client_options o;
    o.server_url = "http://127.0.0.1:1";
    o.user = uuid::random();
    o.retries = 2;
    o.backoff = std::chrono::milliseconds(1);
    client c(o);
    CHECK(c.delete_user().error().code == errc::network);
    CHECK(c.requests_sent() == 3);
}

TEST_CASE("a response over max_response_bytes is an error, not an allocation") {
    const auto head = R"({"head":")" + root_text + R"(","seq":0})" + std::string(2000, ' ');
    fake_server server([&](const fake_request& r) {
        if (r.target.find("/log") != std::string::npos)
            return fake_response::chunked_cut(std::string(5000, 'x'), 5000);  // chunked, no length announced
        return fake_response::http(200, head);
    });
    auto o = options_for(server);
    o.max_response_bytes = 1024;
    client small(o);
    auto h = small.head();
    REQUIRE_FALSE(h);
    CHECK(h.error().code == errc::internal);
    CHECK(h.error().message.find("response too large") != std::string::npos);
    CHECK(server.requests() == 1);  // not sent again
    auto pulled = small.pull(root_id, [](const pulled_transaction&) -> outcome<void> { return {}; });
    REQUIRE_FALSE(pulled);
    CHECK(pulled.error().message.find("response too large") != std::string::npos);

    o.max_response_bytes = 4096;
    client large(o);
    CHECK(large.head().value() == head_state{});
}

}
