// End-to-end: bad input over the wire gets its documented answer, stores
// nothing, and the server keeps serving.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

using namespace chunklog::test;

namespace {

struct limited_server {
    temp_dir dir;
    server_process server{dir.path() / "db",
                          {"--max-chunk-bytes", "1024", "--max-json-bytes", "2048", "--max-header-bytes", "4096"}};
    http_connection conn{server.port()};
    user_api api{conn};

    // A fresh connection: the one that sent bad input may have been closed.
    void check_still_serving() {
        CHECK(http_call(server.port(), "GET", "/healthz").status == 200);
        auto summary = parse_json(http_call(server.port(), "GET", api.path()).body);
        CHECK(summary.at("chunks").to_number<int>() == 0);
    }
};

std::string chunk_put_header(std::uint16_t port, const std::string& user, const std::string& id,
                             const std::string& extra) {
    return "PUT /0.1/" + user + "/chunks/" + id + " HTTP/1.1\r\nHost: x\r\n" + authorization_line(port) + extra + "\r\n";
}

}  // namespace

TEST_SUITE("e2e_errors") {

TEST_CASE_FIXTURE(limited_server, "malformed JSON and wrong types are bad_request") {
    for (const char* body : {"{", "null", "[1]", "{\"head\": 5}", "{\"head\": null}", "{\"head\":\"x\"} trailing"}) {
        auto r = conn.request("PUT", api.path("/head"), body);
        CHECK(r.status == 400);
        CHECK(error_code(r) == "bad_request");
        CHECK(r.header("content-type") == "application/json");
    }
    CHECK(error_code(conn.request("PUT", api.path("/head"), R"({"head":"not-a-uuid"})")) == "invalid_id");
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "bad ids in paths are invalid_id") {
    CHECK(error_code(conn.request("GET", "/0.1/x/head")) == "invalid_id");
    CHECK(error_code(api.get("/chunks/abc")) == "invalid_id");
    CHECK(error_code(api.get("/transactions/abc")) == "invalid_id");
    CHECK(error_code(api.get("/transactions?from=abc")) == "invalid_id");
    CHECK(error_code(conn.request("GET", "/0.1/%41/head")) == "invalid_id");
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "a hash mismatch stores nothing") {
    auto r = conn.request("PUT", api.path("/chunks/" + sha256_hex("claimed")), "actual");
    CHECK(r.status == 400);
    CHECK(error_code(r) == "hash_mismatch");
    CHECK(api.get("/chunks/" + sha256_hex("claimed")).status == 404);
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "an oversized Content-Length is refused with 413 before the body is sent") {
    auto raw = raw_exchange(server.port(),
                            chunk_put_header(server.port(), api.user(), sha256_hex("x"), "Content-Length: 10000000\r\n"));
    CHECK(first_status(raw) == 413);
    CHECK(raw.find("payload_too_large") != std::string::npos);
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "an oversized chunked body is refused with 413") {
    std::string piece(600, 'a');
    std::string chunked = "258\r\n" + piece + "\r\n258\r\n" + piece + "\r\n0\r\n\r\n";
    auto raw = raw_exchange(server.port(), chunk_put_header(server.port(), api.user(), sha256_hex(piece + piece),
                                                            "Transfer-Encoding: chunked\r\n") + chunked);
    CHECK(first_status(raw) == 413);
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "an oversized JSON body is refused with 413") {
    std::string big = "{\"head\":\"" + std::string(4000, 'a') + "\"}";
    auto r = conn.request("PUT", api.path("/head"), big);
    CHECK(r.status == 413);
    CHECK(error_code(r) == "payload_too_large");
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "a truncated body stores nothing") {
    std::string body = "full body";
    auto raw = raw_exchange(server.port(), chunk_put_header(server.port(), api.user(), sha256_hex(body), "Content-Length: 9\r\n") +
                                               "full", std::chrono::milliseconds(300));
    CHECK(raw.empty());
    CHECK(api.get("/chunks/" + sha256_hex(body)).status == 404);
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "garbage on the socket is answered 400 and closed") {
    for (std::string garbage : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
                                std::string("HELLO WORLD\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                                std::string("GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
        auto raw = raw_exchange(server.port(), garbage);
        CHECK(first_status(raw) == 400);
    }
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "an oversized header is answered 431") {
    auto raw = raw_exchange(server.port(), "GET / HTTP/1.1\r\nX-Big: " + std::string(8000, 'b') + "\r\n\r\n");
    CHECK(first_status(raw) == 431);
    check_still_serving();
}

TEST_CASE_FIXTURE(limited_server, "unknown paths and methods") {
    CHECK(error_code(conn.request("GET", "/nowhere")) == "not_found");
    auto r = conn.request("PATCH", api.path("/head"), "{}");
    CHECK(r.status == 405);
    CHECK(r.header("allow") == "GET, HEAD, PUT");
    check_still_serving();
}

}
