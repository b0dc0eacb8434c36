// completion_inbox: hands functions from other threads (the store's commit
// pipeline calling back) to one io_context in batches. The first function
// queued while no drain is pending posts one drain to the context; the ones
// queued before it runs only join its batch, so a group of writes completed
// together wakes the I/O thread once. push() is thread-safe; the functions
// run on the io_context's thread, in the order pushed. The inbox must
// outlive every push (the server drains the store's writes before the
// contexts and their inboxes go).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <mutex>
#include <vector>

namespace chunklog::api {

class completion_inbox {
public:
    explicit completion_inbox(boost::asio::io_context& context) : context_(context) {}
    completion_inbox(const completion_inbox&) = delete;
    completion_inbox& operator=(const completion_inbox&) = delete;

    void push(std::function<void()> f) {
        std::lock_guard lock(mutex_);
        pending_.push_back(std::move(f));
        if (drain_posted_) return;
        drain_posted_ = true;
        boost::asio::post(context_, [this] { drain(); });
    }

private:
    void drain() {
        std::vector<std::function<void()>> batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(pending_);
            drain_posted_ = false;
        }
        for (auto& f : batch) f();
    }

    boost::asio::io_context& context_;
    std::mutex mutex_;
    std::vector<std::function<void()>> pending_;  // guarded by mutex_
    bool drain_posted_ = false;                   // guarded by mutex_
};

}  // namespace chunklog::api
