#include "bench/loopback_fanout.hpp"

#include "bench/load_connection.hpp"

#include <chunklog/ids.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>

namespace chunklog::bench {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// The answer chunklogd sends a woken long poll, byte for byte in shape.
std::string long_poll_answer(const std::string& head) {
    std::string body = R"({"head":")" + head + R"(","seq":1})";
    return "HTTP/1.1 200 OK\r\nServer: chunklogd/0.1.0\r\nX-Request-Id: 2\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct pipe_pair {
    int read_end = -1;
    int write_end = -1;
    pipe_pair() {
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("loopback-fanout: pipe failed");
        read_end = fds[0];
        write_end = fds[1];
    }
};

// The child: accepts `waiters` connections on `listener`, reads a request
// from each, says so on `ready`, and when a byte arrives on `go`, writes
// `answer` to every socket from one thread per core. Returns when the
// parent closes `go`.
void serve_fanout(int listener, unsigned waiters, int ready, int go, const std::string& answer) {
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    asio::io_context ioc(1);
    tcp::acceptor acceptor(ioc, tcp::v4(), listener);
    std::vector<std::vector<tcp::socket>> shares(threads);
    for (unsigned i = 0; i < waiters; ++i) {
        auto socket = acceptor.accept();
        std::string request;
        asio::read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n");
        shares[i % threads].push_back(std::move(socket));
    }
    std::latch start(1);
    std::vector<std::thread> writers;
    for (auto& share : shares)
        writers.emplace_back([&start, &share, &answer] {
            start.wait();
            for (auto& socket : share) {
                boost::system::error_code ec;
                asio::write(socket, asio::buffer(answer), ec);
            }
        });
    char byte = 1;
    if (::write(ready, &byte, 1) != 1 || ::read(go, &byte, 1) != 1) byte = 0;
    start.count_down();
    for (auto& w : writers) w.join();
    while (::read(go, &byte, 1) > 0) {
    }
}

}  // namespace

longpoll_result run_loopback_fanout(const bench_options& options) {
    asio::io_context ioc(1);
    tcp::acceptor listener(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    listener.listen(asio::socket_base::max_listen_connections);
    auto target = uuid::random().to_string();
    auto answer = long_poll_answer(target);
    pipe_pair ready, go;
    pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("loopback-fanout: fork failed");
    if (child == 0) {
        ::close(ready.read_end);
        ::close(go.write_end);
        try {
            serve_fanout(listener.native_handle(), options.connections, ready.write_end, go.read_end, answer);
        } catch (...) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    ::close(ready.write_end);
    ::close(go.read_end);
    auto link_options = options;
    link_options.host = "127.0.0.1";
    link_options.port = listener.local_endpoint().port();
    link_options.tls = false;
    listener.close();
    server_link link(link_options);

    longpoll_result result;
    result.workload = "loopback-fanout";
    result.waiters = options.connections;
    std::vector<std::unique_ptr<load_connection>> waiters;
    for (unsigned i = 0; i < options.connections; ++i) waiters.push_back(std::make_unique<load_connection>(ioc, link));
    auto request = "GET /0.1/" + uuid::random().to_string() + "/head?wait=60&known=" + root_id.to_string() +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    clock_type::time_point told_at{};
    auto wait_one = [&](load_connection& w) -> asio::awaitable<void> {
        bool woken = co_await w.raw_wait_for(request, target);
        if (!woken) {
            // The child would wait for this waiter for ever: stop it, which
            // ends the run with an error.
            if (told_at == clock_type::time_point{}) ::kill(child, SIGKILL);
            co_return;
        }
        ++result.woken;
        result.wake_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - told_at).count());
    };
    asio::posix::stream_descriptor ready_pipe(ioc, ready.read_end);
    auto drive = [&]() -> asio::awaitable<void> {
        for (auto& w : waiters) asio::co_spawn(ioc, wait_one(*w), asio::detached);
        char byte = 0;
        auto [ec, n] = co_await asio::async_read(ready_pipe, asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
        if (ec || n != 1) throw std::runtime_error("loopback-fanout: the child stopped before its waiters were in");
        told_at = clock_type::now();
        if (::write(go.write_end, &byte, 1) != 1) throw std::runtime_error("loopback-fanout: the child is gone");
    };
    asio::co_spawn(ioc, drive(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    ioc.run();
    ::close(go.write_end);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("loopback-fanout: the child failed");
    std::sort(result.wake_ms.begin(), result.wake_ms.end());
    return result;
}

}  // namespace chunklog::bench
