// The Beast session machinery in-process, with no chunklogd: a handler that
// throws must cost only its own connection and leave no registration
// behind, and the deadline sweeper must keep watching a connection that
// arrives while its timer's cancellation is still queued.
#include "support/store_fixture.hpp"

#include "api/router.hpp"
#include "api/server/completion_inbox.hpp"
#include "api/server/deadline_sweeper.hpp"
#include "api/server/http_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include <stdexcept>
#include <thread>

using namespace chunklog;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Sends one request on a fresh connection and reads until the server closes.
std::string send_and_read(std::uint16_t port, const std::string& request) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(socket, asio::buffer(request));
    std::string reply;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(reply), ec);
    CHECK(ec == asio::error::eof);
    return reply;
}

// Sessions, not tokens, are under test here: the 0.1 model, no tokens.
api::service_options without_tokens() {
    api::service_options o;
    o.access.auth = api::auth_mode::none;
    return o;
}

struct session_fixture : test::store_fixture {
    api::server_config config;
    api::metrics counters;
    api::router routes{*store, without_tokens(), counters};
    asio::thread_pool blocking{2};
    api::server_state state{config, routes, nullptr, counters, blocking, {}, {false}, {1}};
    asio::io_context ioc{1};
    api::deadline_sweeper sweeper{ioc};
    api::completion_inbox inbox{ioc};
    tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};

    ~session_fixture() {
        sweeper.close();
        blocking.join();
    }

    // Serves `connections` connections, each in a session, on a thread
    // that runs the io_context until it has no work left (every session gone).
    std::thread serve(int connections) {
        accept(connections);
        return std::thread([this] { ioc.run(); });
    }

    void accept(int remaining) {
        if (remaining == 0) return;
        acceptor.async_accept([this, remaining](boost::system::error_code ec, tcp::socket socket) {
            if (!ec) api::start_session(std::move(socket), state, {sweeper, inbox});
            accept(remaining - 1);
        });
    }
};

}  // namespace

TEST_SUITE("session") {

TEST_CASE_FIXTURE(session_fixture, "a handler that throws gets 500, closes its connection and leaves nothing registered") {
    state.handle = [](const api::request&, const api::route_match&) -> api::response {
        throw std::runtime_error("injected fault");
    };
    auto server = serve(2);
    auto port = acceptor.local_endpoint().port();
    auto user = "/0.1/" + test::make_id(7).to_string();
    // One request answered on the I/O thread, one on the blocking pool.
    auto read = send_and_read(port, "GET " + user + "/head HTTP/1.1\r\nHost: x\r\n\r\n");
    auto write = send_and_read(port, "PUT " + user + "/head HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    server.join();  // ioc.run() returned: no session, timer or operation is left
    for (const auto& reply : {read, write}) {
        CHECK(reply.starts_with("HTTP/1.1 500"));
        CHECK(reply.find("\"error\":\"internal\"") != std::string::npos);
        CHECK(reply.find("Connection: close") != std::string::npos);
    }
    CHECK(counters.open_connections() == 0);
    CHECK(state.registry.size() == 0);
    CHECK(sweeper.size() == 0);
}

TEST_CASE_FIXTURE(session_fixture, "a chunk PUT and a publish queued to the store are answered on their I/O thread") {
    // On a store that queues writes (RocksDB) the handlers answer through
    // the store's callback; on one that does not, on the blocking pool.
    state.handle = [this](const api::request& req, const api::route_match& route) { return routes.handle(req, route); };
    auto server = serve(2);
    auto port = acceptor.local_endpoint().port();
    auto user = "/0.1/" + test::make_id(8).to_string();
    const std::string chunk = "queued chunk";
    auto id = sha256_of(chunk).to_string();
    auto put = send_and_read(port, "PUT " + user + "/chunks/" + id + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                       "Content-Length: " + std::to_string(chunk.size()) + "\r\n\r\n" + chunk);
    auto body = R"({"chunks":[],"transactions":[{"id":")" + test::make_id(1).to_string() +
                R"(","parent":"00000000-0000-0000-0000-000000000000","chunks":[")" + id + R"("]}],"head":")" +
                test::make_id(1).to_string() + R"("})";
    auto publish = send_and_read(port, "POST " + user + "/publish HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    server.join();  // ioc.run() returned: no write's answer is left waiting
    CHECK_MESSAGE(put.starts_with("HTTP/1.1 201"), put);
    CHECK_MESSAGE(publish.starts_with("HTTP/1.1 200"), publish);
    CHECK(publish.find(R"("seq":1)") != std::string::npos);
    CHECK(store->head(test::make_id(8)).value() == head_state{test::make_id(1), 1});
    CHECK(counters.open_connections() == 0);
}

TEST_CASE("a completion inbox runs what any thread pushes, on its context, in the order each thread pushed") {
    asio::io_context ioc{1};
    api::completion_inbox inbox(ioc);
    constexpr int per_thread = 2000;
    std::vector<int> seen[2];
    std::thread::id runner;
    bool off_thread = false;
    auto push_all = [&](int which) {
        for (int i = 0; i < per_thread; ++i)
            inbox.push([&, which, i] {
                seen[which].push_back(i);
                off_thread = off_thread || std::this_thread::get_id() != runner;
            });
    };
    std::thread a(push_all, 0), b(push_all, 1);
    a.join();
    b.join();
    runner = std::this_thread::get_id();
    ioc.run();
    for (auto& s : seen) {
        REQUIRE(s.size() == per_thread);
        for (int i = 0; i < per_thread; ++i) CHECK(s[i] == i);
    }
    CHECK_FALSE(off_thread);
}

TEST_CASE("the sweeper watches a connection added while its cancelled wait is still queued") {
    asio::io_context ioc{1};
    api::deadline_sweeper sweeper(ioc, std::chrono::milliseconds(10));
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket first(ioc), second(ioc), peer(ioc);
    second.connect(acceptor.local_endpoint());
    acceptor.accept(peer);

    // The last entry goes (the timer is cancelled, its handler queued), and
    // a new one arrives before that handler runs.
    sweeper.remove(sweeper.add(first));
    auto watched = sweeper.add(second);
    watched->arm(std::chrono::milliseconds(0));
    bool aborted = false;
    char byte;
    second.async_read_some(asio::buffer(&byte, 1), [&](boost::system::error_code ec, std::size_t) {
        aborted = ec == asio::error::operation_aborted;
        sweeper.remove(watched);
    });
    ioc.run_for(std::chrono::seconds(10));  // returns early once the read has ended
    CHECK(aborted);
    sweeper.close();
}

}
