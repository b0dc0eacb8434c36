#include "storage/postgresql/head_listener.hpp"

#include "storage/postgresql/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cstdio>

namespace chunklog::storage {
namespace {

// How often the thread looks at the stop flag while nothing arrives.
constexpr int poll_slice_ms = 100;
constexpr auto reconnect_delay = std::chrono::seconds(1);

}  // namespace

head_listener::head_listener(std::string conninfo, callback moved, std::function<void(std::string_view)> log_error)
    : conninfo_(std::move(conninfo)), moved_(std::move(moved)), log_error_(std::move(log_error)) {
    thread_ = std::thread([this] { run(); });
}

head_listener::~head_listener() {
    stopping_ = true;
    thread_.join();
}

void head_listener::run() {
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
            if (auto l = (*c)->run("LISTEN chunklog_head"); !l) c = l.error();
        if (!c) {
            if (!lost) report("long polls across nodes: " + c.error().message + "; retrying");
            lost = true;
            for (auto until = clock::now() + reconnect_delay; !stopping_ && clock::now() < until;)
                std::this_thread::sleep_for(std::chrono::milliseconds(poll_slice_ms));
            continue;
        }
        if (lost) moved_(std::nullopt);  // subscribed again: whatever moved meanwhile is looked at now
        lost = false;
        auto* raw = (*c)->raw();
        while (!stopping_) {
            pollfd fd{PQsocket(raw), POLLIN, 0};
            int ready = ::poll(&fd, 1, poll_slice_ms);
            if (ready > 0 && PQconsumeInput(raw) == 0) break;
            while (PGnotify* n = PQnotifies(raw)) {
                if (auto user = uuid::parse(n->extra)) moved_(*user);
                PQfreemem(n);
            }
            if (PQstatus(raw) != CONNECTION_OK) break;
            if (clock::now() - last_recheck >= recheck_interval) {
                last_recheck = clock::now();
                moved_(std::nullopt);
            }
        }
        if (!stopping_) {
            report("long polls across nodes: the listening connection broke; reconnecting");
            lost = true;
        }
    }
}

}  // namespace chunklog::storage
