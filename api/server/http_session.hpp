// The per-connection HTTP/1.1 session and the state it shares with the
// listener. A session only does I/O: (over TLS, first the handshake) read a
// request (header, then body under the router's limits), hand it to the
// router (on the blocking pool when it may wait on a synced write), write the
// answer, and loop for keep-alive and pipelining. Each session lives on one io_context, run by one thread, so
// its handlers never run concurrently; session_registry is
// thread-safe.
#pragma once

#include "api/server/completion_inbox.hpp"
#include "api/server/deadline_sweeper.hpp"
#include "api/server/http_server.hpp"
#include "api/metrics.hpp"
#include "api/router.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace chunklog::api {

class tls_context;

// Open sessions, so shutdown can close the idle ones and know when all ended.
class session_registry {
public:
    // `stop(force)` asks a session to end once idle, or at once when forced.
    std::uint64_t add(std::function<void(bool force)> stop);
    void remove(std::uint64_t id);
    std::size_t size();
    // Asks every session to stop once idle; on_drained runs when none remain.
    void stop_all(std::function<void()> on_drained);
    // Closes every session's connection now (after the shutdown grace).
    void close_all();
    // Drops on_drained, once nothing it refers to may be used any more.
    void forget_drained();

private:
    std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<std::uint64_t, std::function<void(bool)>> sessions_;
    std::function<void()> on_drained_;
    bool stopping_ = false;
};

// Answers a complete request (the router's handle, or a stand-in in tests).
using request_handler = std::function<response(const request&, const route_match&)>;

struct server_state {
    const server_config& config;
    router& routes;
    request_handler handle;
    metrics& counters;
    boost::asio::thread_pool& blocking;
    session_registry registry;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> next_request_id{1};
    tls_context* tls = nullptr;  // non-null: every connection speaks HTTPS only
};

// What a connection uses of the I/O thread it lives on: its deadlines, and
// the inbox where the store's callbacks for its queued writes arrive.
struct io_thread_services {
    deadline_sweeper& sweeper;
    completion_inbox& inbox;
};

// Takes ownership of an accepted socket and serves it until it closes (over
// TLS with the context current now when state.tls is set). A
// session that fails in any way (an exception included) closes its own
// connection only, and unregisters itself whatever the way it ended.
void start_session(boost::asio::ip::tcp::socket socket, server_state& state, io_thread_services home);
// Logs an exception that ended a coroutine, if any (asio::detached drops it).
void log_if_failed(const char* what, std::exception_ptr e);

// Answers 503 on a socket over the connection limit and closes it (closes
// it without an answer when TLS is on).
void refuse_connection(boost::asio::ip::tcp::socket socket, server_state& state);

}  // namespace chunklog::api
