// Route matching and response header text: the pieces of the HTTP layer that
// the session uses on every request, tested without sockets.
#include "api/server/response_header.hpp"
#include "api/routes.hpp"

#include <doctest/doctest.h>

using namespace chunklog::api;

namespace {

const std::string user = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

}  // namespace

TEST_SUITE("http framing") {

TEST_CASE("plain paths split into the routes of the protocol") {
    CHECK(match_route("/").kind == route_kind::server_info);
    CHECK(match_route("/healthz").kind == route_kind::healthz);
    CHECK(match_route("/0.1/" + user).kind == route_kind::user);
    CHECK(match_route("/0.1/" + user + "/").kind == route_kind::user);
    CHECK(match_route("/0.1/" + user + "/head").kind == route_kind::head);
    // A leading "/./" is dropped, as Boost.URL does (found by the routes fuzzer).
    CHECK(match_route("/./0.1/" + user + "/head").kind == route_kind::head);
    CHECK(match_route("/./").kind == route_kind::server_info);
    CHECK(match_route("/0.1/" + user + "/chunks/missing").kind == route_kind::chunks_missing);
    auto chunk = match_route("/0.1/" + user + "/chunks/abc");
    CHECK(chunk.kind == route_kind::chunk);
    CHECK(chunk.user == chunklog::uuid::parse(user));
    CHECK(!match_route("/0.1/not-a-uuid/head").user);
    CHECK(chunk.id == "abc");
    CHECK(match_route("/0.1/" + user + "/chunks/abc/def").kind == route_kind::unmatched);
    CHECK(match_route("/0.1/" + user + "//head").kind == route_kind::unmatched);
    CHECK(match_route("/0.2/" + user + "/head").kind == route_kind::unmatched);
    CHECK(match_route("healthz").kind == route_kind::unmatched);
    CHECK(match_route("").kind == route_kind::unmatched);
}

TEST_CASE("percent-encoded paths and queries match as their decoded form") {
    auto encoded = match_route("/0.1/" + user + "/chunks/%61bc");
    CHECK(encoded.kind == route_kind::chunk);
    CHECK(encoded.id == "abc");
    CHECK(match_route("/%68ealthz").kind == route_kind::healthz);
    auto listing = match_route("/0.1/" + user + "/transactions?from=x&limit=5&flag");
    CHECK(listing.kind == route_kind::transactions);
    CHECK(listing.param("from") == "x");
    CHECK(listing.param("limit") == "5");
    CHECK(listing.param("flag") == "");
    CHECK_FALSE(listing.param("other"));
    CHECK(match_route("/0.1/" + user + "/chunks/%zz").kind == route_kind::unmatched);
    CHECK(match_route("/0.1/" + user + "/log?from=%61").param("from") == "a");
    CHECK(match_route("/0.1/" + user + "/log?from=a+b").param("from").has_value());
}

TEST_CASE("plain queries split as a URL parser splits them") {
    auto m = match_route("/0.1/" + user + "/log?a=b=c&&flag&limit=");
    CHECK(m.kind == route_kind::log);
    REQUIRE(m.query.size() == 4);
    CHECK(m.param("a") == "b=c");
    CHECK(m.query[1].first.empty());
    CHECK(m.param("flag") == "");
    CHECK(m.param("limit") == "");
    CHECK(match_route("/healthz?").kind == route_kind::healthz);
}

TEST_CASE("response header: status line, fields, framing and connection") {
    response r;
    r.status = 404;
    r.content_type = "application/json";
    r.set_header("ETag", "\"abc\"");
    auto text = response_header(r, {11, true, 42, 17, false});
    CHECK(text.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(text.find("\r\nX-Request-Id: 42\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    CHECK(text.find("\r\nETag: \"abc\"\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Length: 17\r\n") != std::string::npos);
    CHECK(text.find("Connection") == std::string::npos);
    CHECK(text.substr(text.size() - 4) == "\r\n\r\n");

    r.status = 204;
    auto closing = response_header(r, {11, false, 1, std::nullopt, false});
    CHECK(closing.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
    CHECK(closing.find("Content-Length") == std::string::npos);
    CHECK(closing.find("\r\nConnection: close\r\n") != std::string::npos);

    auto old_client = response_header(r, {10, true, 1, std::nullopt, false});
    CHECK(old_client.rfind("HTTP/1.0 204", 0) == 0);
    CHECK(old_client.find("\r\nConnection: keep-alive\r\n") != std::string::npos);

    r.status = 200;
    auto streamed = response_header(r, {11, true, 1, std::nullopt, true});
    CHECK(streamed.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(streamed.find("Content-Length") == std::string::npos);
}

}  // TEST_SUITE
