// End-to-end: connection handling. Timeouts, the connection limit, graceful
// shutdown, and the command line of the real binary.
#include "support/command.hpp"
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/base64.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <thread>

using namespace chunklog::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A plain loopback socket to the server, for byte-level control.
struct raw_socket {
    std::uint16_t port;
    asio::io_context ioc;
    tcp::socket socket{ioc};
    explicit raw_socket(std::uint16_t p) : port(p) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }
};

// True when the server closed the connection within `within`.
bool closed_by_server(tcp::socket& socket, std::chrono::milliseconds within) {
    socket.non_blocking(false);
    timeval tv{static_cast<time_t>(within.count() / 1000), static_cast<suseconds_t>((within.count() % 1000) * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    auto n = ::recv(socket.native_handle(), &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

// Publishes `count` transactions of one 256 KiB chunk each: a GET log of
// them is far more than the socket buffers hold.
void publish_big_log(http_connection& conn, const user_api& api, int count) {
    std::string parent = root_id_text;
    for (int i = 0; i < count; ++i) {
        std::string bytes(256 * 1024, static_cast<char>('a' + i % 26));
        bytes += std::to_string(i);
        auto id = random_uuid();
        auto body = R"({"chunks":[{"id":")" + sha256_hex(bytes) + R"(","data":")" + chunklog::base64_encode(bytes) +
                    R"("}],"transactions":[{"id":")" + id + R"(","parent":")" + parent + R"(","chunks":[")" +
                    sha256_hex(bytes) + R"("]}],"head":")" + id + R"("})";
        REQUIRE(conn.request("POST", api.path("/publish"), body).status == 200);
        parent = id;
    }
}

// Starts a GET log of everything on a raw socket that then never reads.
void start_unread_log(raw_socket& raw, const user_api& api) {
    auto request = "GET " + api.path("/log?limit=1000") + " HTTP/1.1\r\nHost: x\r\n" + authorization_line(raw.port) + "\r\n";
    asio::write(raw.socket, asio::buffer(request));
}

}  // namespace

TEST_SUITE("e2e_network") {

TEST_CASE("--help and --version answer and exit 0, bad flags exit 2") {
    auto [help_status, help] = run_command(std::string(CHUNKLOGD_PATH) + " --help");
    CHECK(help_status == 0);
    CHECK(help.find("--data-dir") != std::string::npos);
    auto [version_status, version] = run_command(std::string(CHUNKLOGD_PATH) + " --version");
    CHECK(version_status == 0);
    CHECK(version.find("chunklogd 0.1") == 0);
    CHECK(run_command(std::string(CHUNKLOGD_PATH) + " --bogus 2>/dev/null").exit == 2);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--idle-timeout", "1"});
    raw_socket raw(server.port());
    CHECK(closed_by_server(raw.socket, std::chrono::milliseconds(5000)));
}

TEST_CASE("a client that never finishes its header is cut off") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--header-timeout", "1"});
    raw_socket raw(server.port());
    asio::write(raw.socket, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: slow")));
    CHECK(closed_by_server(raw.socket, std::chrono::milliseconds(5000)));
    CHECK(http_call(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("a client that stops sending its body is cut off, and nothing is stored") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--body-timeout", "1"});
    raw_socket raw(server.port());
    auto user = random_uuid();
    auto target = "/0.1/" + user + "/chunks/" + sha256_hex(std::string(100, 'x'));
    asio::write(raw.socket, asio::buffer("PUT " + target + " HTTP/1.1\r\nHost: x\r\n" + authorization_line(server.port()) +
                                       "Content-Length: 100\r\n\r\nxxxxxxxxxx"));
    CHECK(closed_by_server(raw.socket, std::chrono::milliseconds(5000)));
    CHECK(http_call(server.port(), "GET", target).status == 404);
}

TEST_CASE("a long poll outlasts the header and body timeouts") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--header-timeout", "1", "--body-timeout", "1"});
    auto started = std::chrono::steady_clock::now();
    auto r = http_call(server.port(), "GET", "/0.1/" + random_uuid() + "/head?wait=3");
    CHECK(r.status == 200);
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(2900));
}

TEST_CASE("connections over the limit are answered 503") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--max-connections", "2"});
    http_connection a(server.port()), b(server.port());
    CHECK(a.request("GET", "/healthz").status == 200);
    CHECK(b.request("GET", "/healthz").status == 200);
    auto raw = raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(first_status(raw) == 503);
    CHECK(raw.find("unavailable") != std::string::npos);
    CHECK(a.request("GET", "/healthz").status == 200);
}

TEST_CASE("SIGTERM stops the server cleanly with idle connections open, and data stays") {
    temp_dir dir;
    std::string user = random_uuid();
    {
        server_process server(dir.path() / "db", {"--log-level", "debug"});
        http_connection idle(server.port());
        user_api api(idle, user);
        REQUIRE(api.put_chunk("kept").status == 201);
        REQUIRE(api.put_chunk(std::string(64 * 1024, 'k')).status == 201);
        auto started = std::chrono::steady_clock::now();
        CHECK(server.terminate_and_wait(SIGTERM) == 0);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
        auto log = server.log();
        CHECK(log.find("stopped") != std::string::npos);
        CHECK_MESSAGE(log.find("grace period over") == std::string::npos, log);
    }
    server_process again(dir.path() / "db");
    http_connection conn(again.port());
    user_api api(conn, user);
    CHECK(api.get("/chunks/" + sha256_hex("kept")).body == "kept");
    auto big = std::string(64 * 1024, 'k');  // in a blob file after the restart: read on the blocking pool
    CHECK(api.get("/chunks/" + sha256_hex(big)).body == big);
    CHECK(again.terminate_and_wait(SIGINT) == 0);
}

TEST_CASE("SIGTERM lets an in-flight upload finish") {
    temp_dir dir;
    server_process server(dir.path() / "db");
    std::string body(200000, 'z');
    std::string user = random_uuid();
    raw_socket raw(server.port());
    auto& socket = raw.socket;
    std::string header = "PUT /0.1/" + user + "/chunks/" + sha256_hex(body) +
                         " HTTP/1.1\r\nHost: x\r\n" + authorization_line(server.port()) +
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    asio::write(socket, asio::buffer(header + body.substr(0, 1000)));
    // In flight: the upload, and the metrics request that reads the gauge.
    REQUIRE(wait_for_metric(server.port(), "chunklog_requests_in_flight", 2));
    ::kill(server.pid(), SIGTERM);
    REQUIRE(wait_until([&] { return server.log().find("shutting down") != std::string::npos; }));
    asio::write(socket, asio::buffer(body.substr(1000)));
    std::string answer;
    char buf[1024];
    boost::system::error_code ec;
    for (std::size_t n; (n = socket.read_some(asio::buffer(buf), ec)) > 0 && !ec;) answer.append(buf, n);
    CHECK(first_status(answer) == 201);
    CHECK(answer.find("Connection: close") != std::string::npos);
    CHECK(server.terminate_and_wait(0) == 0);
}

TEST_CASE("a reader that never reads is cut off by the write timeout") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--write-timeout", "1"});
    http_connection conn(server.port());
    user_api api(conn);
    publish_big_log(conn, api, 40);
    raw_socket stalled(server.port());
    start_unread_log(stalled, api);
    REQUIRE(wait_for_metric(server.port(), "chunklog_requests_in_flight", 2));  // the log, and this scrape
    // The server gives up on the stalled write and closes that connection:
    // `conn` and the one reading the metrics stay open.
    CHECK(wait_for_metric(server.port(), "chunklog_open_connections", 2));
    CHECK(conn.request("GET", api.path("/head")).status == 200);  // the server goes on
}

TEST_CASE("SIGTERM with a stalled log stream closes it after the grace period and exits cleanly") {
    temp_dir dir;
    server_process server(dir.path() / "db", {"--shutdown-grace", "1", "--write-timeout", "60"});
    {
        http_connection conn(server.port());
        user_api api(conn);
        publish_big_log(conn, api, 40);
        raw_socket stalled(server.port());
        start_unread_log(stalled, api);
        REQUIRE(wait_for_metric(server.port(), "chunklog_requests_in_flight", 2));
        CHECK(server.terminate_and_wait(SIGTERM) == 0);  // no crash on a cursor outliving the store
    }
    auto log = server.log();
    CHECK(log.find("grace period over") != std::string::npos);
    CHECK(log.find("stopped") != std::string::npos);
}

}
