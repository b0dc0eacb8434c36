#include "storage/postgresql/store_listener.hpp"

#include "storage/postgresql/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstdio>

namespace chunklog::storage {
namespace {

// How often the thread looks at the stop flag while nothing arrives.
constexpr int poll_slice_ms = 100;
constexpr auto reconnect_delay = std::chrono::seconds(1);

}  // namespace

store_listener::store_listener(std::string conninfo, store_events events, std::function<void(std::string_view)> log_error)
    : conninfo_(std::move(conninfo)), events_(std::move(events)), log_error_(std::move(log_error)) {
    thread_ = std::thread([this] { run(); });
}

store_listener::~store_listener() {
    stopping_ = true;
    thread_.join();
}

void store_listener::everything_may_have_changed() {
    if (events_.head_moved) events_.head_moved(std::nullopt);
    if (events_.token_revoked) events_.token_revoked(std::nullopt);
}

void store_listener::notified(std::string_view channel, std::string_view payload) {
    // Several payloads come separated by spaces (store_notifier).
    for (std::size_t start = 0; start < payload.size();) {
        auto end = std::min(payload.find(' ', start), payload.size());
        auto one = payload.substr(start, end - start);
        start = end + 1;
        if (channel == "chunklog_head" && events_.head_moved) {
            if (auto user = uuid::parse(one)) events_.head_moved(*user);
        } else if (channel == "chunklog_token" && events_.token_revoked) {
            if (auto hash = digest::parse(one)) events_.token_revoked(*hash);
        }
    }
}

void store_listener::run() {
    using clock = std::chrono::steady_clock;
    bool lost = false;  // notifications may have been missed
    auto last_recheck = clock::now();
    auto report = [&](const std::string& message) {
        if (log_error_) log_error_(message);
        else std::fprintf(stderr, "chunklogd: %s\n", message.c_str());
    };
    while (!stopping_) {
        auto c = pg::connection::open(conninfo_);
        if (c)
            if (auto l = (*c)->run_script("LISTEN chunklog_head; LISTEN chunklog_token"); !l) c = l.error();
        if (!c) {
            if (!lost) report("following other nodes: " + c.error().message + "; retrying");
            lost = true;
            for (auto until = clock::now() + reconnect_delay; !stopping_ && clock::now() < until;)
                std::this_thread::sleep_for(std::chrono::milliseconds(poll_slice_ms));
            continue;
        }
        if (lost) everything_may_have_changed();  // subscribed again: look at whatever moved meanwhile
        lost = false;
        auto* raw = (*c)->raw();
        while (!stopping_) {
            pollfd fd{PQsocket(raw), POLLIN, 0};
            if (::poll(&fd, 1, poll_slice_ms) > 0 && PQconsumeInput(raw) == 0) break;
            while (PGnotify* n = PQnotifies(raw)) {
                notified(n->relname, n->extra);
                PQfreemem(n);
            }
            if (PQstatus(raw) != CONNECTION_OK) break;
            if (clock::now() - last_recheck >= recheck_interval) {
                last_recheck = clock::now();
                if (events_.head_moved) events_.head_moved(std::nullopt);
            }
        }
        if (!stopping_) {
            report("following other nodes: the listening connection broke; reconnecting");
            lost = true;
        }
    }
}

}  // namespace chunklog::storage
