// Socket deadlines for every connection of one io_context, enforced by a
// single timer that sweeps once per resolution (one second): setting a
// deadline is a clock read and a store, not a timer operation, so a request
// pays nothing for its timeouts. A deadline fires up to one resolution late,
// by cancelling the socket's pending operations (they complete with
// operation_aborted). The timer runs only while connections are registered,
// so an io_context with none runs out of work. Every member is used on the
// io_context's own thread only (each runs on exactly one thread). close()
// drops the timer while its io_context still exists; entries may then still
// be removed (by sessions destroyed with the io_context), and the sweeper
// must outlive them.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <optional>

namespace chunklog::api {

class deadline_sweeper {
public:
    using clock = std::chrono::steady_clock;

    // One connection's deadline, registered by add() until remove().
    class entry {
    public:
        // Operations started from now on must finish within `limit`.
        void arm(clock::duration limit) { deadline_ = clock::now() + limit; }
        // No deadline until the next arm().
        void disarm() { deadline_ = clock::time_point::max(); }

    private:
        friend class deadline_sweeper;
        explicit entry(boost::asio::ip::tcp::socket& socket) : socket_(&socket) {}
        boost::asio::ip::tcp::socket* socket_;
        clock::time_point deadline_ = clock::time_point::max();
    };

    explicit deadline_sweeper(boost::asio::io_context& ioc, clock::duration resolution = std::chrono::seconds(1));
    deadline_sweeper(const deadline_sweeper&) = delete;
    deadline_sweeper& operator=(const deadline_sweeper&) = delete;

    using handle = std::list<entry>::iterator;
    handle add(boost::asio::ip::tcp::socket& socket);
    void remove(handle h);
    std::size_t size() const { return entries_.size(); }
    // Stops sweeping for good and destroys the timer (before its io_context).
    void close();

private:
    void schedule();
    void sweep();

    std::optional<boost::asio::steady_timer> timer_;
    clock::duration resolution_;
    std::list<entry> entries_;
    bool scheduled_ = false;
};

}  // namespace chunklog::api
