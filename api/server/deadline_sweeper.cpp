#include "api/server/deadline_sweeper.hpp"

namespace chunklog::api {

deadline_sweeper::deadline_sweeper(boost::asio::io_context& ioc, clock::duration resolution)
    : timer_(std::in_place, ioc), resolution_(resolution) {}

deadline_sweeper::handle deadline_sweeper::add(boost::asio::ip::tcp::socket& socket) {
    auto h = entries_.insert(entries_.end(), entry(socket));
    if (!scheduled_ && timer_) schedule();
    return h;
}

void deadline_sweeper::remove(handle h) {
    entries_.erase(h);
    if (entries_.empty() && timer_) timer_->cancel();  // nothing left to watch: let the io_context run out of work
}

void deadline_sweeper::close() { timer_.reset(); }

void deadline_sweeper::schedule() {
    scheduled_ = true;
    timer_->expires_after(resolution_);
    timer_->async_wait([this](const boost::system::error_code& ec) {
        scheduled_ = false;
        if (!ec) return sweep();
        // Cancelled when the last entry went; one added since (while this
        // handler was queued) saw scheduled_ still true and did not schedule.
        if (ec == boost::asio::error::operation_aborted && timer_ && !entries_.empty()) schedule();
    });
}

void deadline_sweeper::sweep() {
    auto now = clock::now();
    for (auto& e : entries_) {
        if (now < e.deadline_) continue;
        e.deadline_ = clock::time_point::max();
        boost::system::error_code ignored;
        e.socket_->cancel(ignored);
    }
    if (!entries_.empty()) schedule();
}

}  // namespace chunklog::api
