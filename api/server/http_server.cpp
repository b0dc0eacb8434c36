#include "api/server/http_server.hpp"

#include "api/server/http_session.hpp"
#include "api/server/tls_context.hpp"
#include "api/admin_token.hpp"
#include "api/gc_runner.hpp"
#include "api/head_watch.hpp"
#include "api/request_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chunklog/sha256.hpp>

#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

namespace chunklog::api {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One io_context per I/O thread, each run by exactly that thread: a
// connection lives on one of them, so its handlers never need a strand or a
// lock, and the threads share nothing on the hot path.
//
// Destruction order matters when stop() left sessions pending: their
// coroutine frames die with the contexts and unregister from the sweepers,
// so the sweepers' timers go first (close) and the sweepers themselves last.
class io_pool {
public:
    explicit io_pool(unsigned threads) {
        for (unsigned i = 0; i < threads; ++i) {
            contexts_.push_back(std::make_unique<asio::io_context>(1));
            keep_running_.push_back(asio::make_work_guard(*contexts_.back()));
            sweepers_.push_back(std::make_unique<deadline_sweeper>(*contexts_.back()));
            inboxes_.push_back(std::make_unique<completion_inbox>(*contexts_.back()));
        }
    }
    ~io_pool() {
        for (auto& sweeper : sweepers_) sweeper->close();
        keep_running_.clear();
        contexts_.clear();
    }
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;
    asio::io_context& first() { return *contexts_.front(); }
    // Round-robin: where the next connection lives, and its thread's services.
    std::pair<asio::io_context&, io_thread_services> next() {
        auto i = next_++ % contexts_.size();
        return {*contexts_[i], {*sweepers_[i], *inboxes_[i]}};
    }
    // Runs every context (the first on the calling thread) until each is out of work.
    void run() {
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < contexts_.size(); ++i) threads.emplace_back([this, i] { contexts_[i]->run(); });
        contexts_.front()->run();
        for (auto& t : threads) t.join();
    }
    template <typename F>
    void for_each_context(F f) {
        for (auto& context : contexts_) f(*context);
    }
    // Lets each context return once its connections are gone.
    void release() {
        for (auto& guard : keep_running_) guard.reset();
    }
    void stop() {
        for (auto& context : contexts_) context->stop();
    }

private:
    std::vector<std::unique_ptr<deadline_sweeper>> sweepers_;  // outlive the contexts (see above)
    std::vector<std::unique_ptr<completion_inbox>> inboxes_;   // outlive the contexts' pending drains
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
    std::size_t next_ = 0;  // used by the accept loop only
};

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_state& state, io_pool& pool) {
    auto& ioc = pool.first();
    for (;;) {
        auto home = pool.next();
        auto [ec, socket] = co_await acceptor.async_accept(home.first, asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors and similar: back off briefly instead of spinning.
            log_message(log_level::warn, "accept failed: " + ec.message());
            asio::steady_timer pause(ioc, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        if (static_cast<std::size_t>(state.counters.open_connections()) >= state.config.max_connections)
            refuse_connection(std::move(socket), state);
        else
            start_session(std::move(socket), state, home.second);
    }
}

// Runs the accept loop; one that ends by an exception is logged and started
// again (the server must not silently stop accepting).
void spawn_accept_loop(tcp::acceptor& acceptor, server_state& state, io_pool& pool) {
    asio::co_spawn(pool.first(), accept_loop(acceptor, state, pool),
                   [&acceptor, &state, &pool](std::exception_ptr e) {
                       if (!e) return;
                       log_if_failed("the accept loop", e);
                       if (!state.stopping.load() && acceptor.is_open()) spawn_accept_loop(acceptor, state, pool);
                   });
}

tcp::acceptor open_acceptor(asio::io_context& ioc, const server_config& config) {
    tcp::endpoint endpoint{asio::ip::make_address(config.host), config.port};
    tcp::acceptor acceptor(ioc);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}

// The TLS context of the configured files, null when TLS is off. Fails
// (logging why, naming the file) when the files are unusable.
bool load_tls(const server_config& config, std::unique_ptr<tls_context>& out) {
    if (config.tls_cert_file.empty() && config.tls_key_file.empty()) return true;
    if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
        log_message(log_level::error, "TLS needs both a certificate file and a key file");
        return false;
    }
    out = std::make_unique<tls_context>(config.tls_cert_file, config.tls_key_file);
    if (auto why = out->reload(); !why.empty()) {
        log_message(log_level::error, "TLS: " + why);
        return false;
    }
    return true;
}

// SIGHUP: new connections get the files' current certificate; open ones
// keep theirs. A failed reload keeps the previous certificate.
void reload_tls(tls_context* tls, const server_config& config) {
    if (tls == nullptr) {
        log_message(log_level::info, "SIGHUP: nothing to reload (TLS is off)");
        return;
    }
    if (auto why = tls->reload(); !why.empty())
        log_message(log_level::error, "SIGHUP: TLS certificate not reloaded, the previous one stays: " + why);
    else
        log_message(log_level::info, "SIGHUP: TLS certificate reloaded from " + config.tls_cert_file);
}

unsigned io_thread_count(const server_config& config) {
    if (config.io_threads != 0) return config.io_threads;
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int run_server(const server_config& config) {
    std::unique_ptr<tls_context> tls;  // outlives the sessions, which hold its contexts
    if (!load_tls(config, tls)) return 1;
    auto store_options = config.store;
    store_options.log_error = [](std::string_view message) { log_message(log_level::error, std::string(message)); };
    store_options.log_info = [](std::string_view message) { log_message(log_level::info, std::string(message)); };
    auto opened = storage::log_store::open(store_options);
    if (!opened) {
        log_message(log_level::error, "cannot open the store: " + opened.error().message);
        return 1;
    }
    // Declared so that they are destroyed in reverse: the I/O contexts (and
    // any session frame still holding a log cursor) before the state they
    // use, and the store last.
    auto store = std::move(*opened);
    auto admin_token = config.admin_token_file.empty() ? load_or_create_admin_token(config.store.dir)
                                                       : read_admin_token(config.admin_token_file);
    if (!admin_token) {
        log_message(log_level::error, admin_token.error().message);
        return 1;
    }
    auto service = config.service;
    service.access.admin_token_hash = sha256_of(*admin_token);
    metrics counters;
    router routes(*store, service, counters);
    // Other nodes' HEAD moves wake long polls here, their revocations empty
    // the token cache; the calls stop before routes goes.
    store->watch({[&routes](const std::optional<uuid>& user) {
                      if (user) routes.watch().notify(*user);
                      else routes.watch().notify_all();
                  },
                  [&routes](const std::optional<digest>& secret_hash) { routes.forget_token(secret_hash); }});
    struct unwatch {
        storage::log_store& store;
        ~unwatch() { store.watch({}); }
    } stop_watching{*store};
    gc_runner gc(*store, counters, service.gc_interval);  // stops (and joins) before the store closes
    asio::thread_pool blocking(config.blocking_threads);
    server_state state{config, routes,
                       [&routes](const request& req, const route_match& route) { return routes.handle(req, route); },
                       counters, blocking, {}, {false}, {1}};
    state.tls = tls.get();
    io_pool pool(io_thread_count(config));
    auto& ioc = pool.first();
    // A HEAD change wakes each I/O thread's long polls with one post to that thread.
    pool.for_each_context([&routes](asio::io_context& context) {
        routes.watch().add_group(static_cast<asio::execution_context*>(&context),
                                 [&context](std::function<void()> f) { asio::post(context, std::move(f)); });
    });
    struct forget_groups {
        head_watch& watch;
        ~forget_groups() { watch.remove_groups(); }  // before the contexts go
    } groups_forgotten{routes.watch()};

    tcp::acceptor acceptor(ioc);
    try {
        acceptor = open_acceptor(ioc, config);
    } catch (const std::exception& e) {
        log_message(log_level::error, "cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " +
                                          e.what());
        return 1;
    }
    // Signals are caught (and queued) from here on, before anyone may learn
    // the port from the line below.
    asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    auto local = acceptor.local_endpoint();
    const char* scheme = tls ? "https" : "http";
    std::cout << "chunklogd listening on " << scheme << "://" << local.address().to_string() << ':' << local.port()
              << std::endl;
    log_message(log_level::info, "listening on " + local.address().to_string() + ":" + std::to_string(local.port()) +
                                     (tls ? " (HTTPS)" : "") + ", data in " +
                                     (config.store.kind == storage::store_kind::postgresql ? std::string("PostgreSQL")
                                                                                           : config.store.dir.string()));
    if (config.service.access.auth == auth_mode::none && !local.address().is_loopback())
        log_message(log_level::warn, "--auth none on a non-loopback address: anyone who can reach this port and "
                                     "knows a user id can read, change and delete that user's data");

    asio::steady_timer grace(ioc);
    auto shut_down = [&](int signal) {
        log_message(log_level::info, "signal " + std::to_string(signal) + ": shutting down");
        state.stopping.store(true);
        pool.release();
        routes.watch().notify_all();  // long polls answer now
        boost::system::error_code ignored;
        acceptor.close(ignored);
        grace.expires_after(config.shutdown_grace);
        grace.async_wait([&](const boost::system::error_code& timer_ec) {
            if (timer_ec) return;
            log_message(log_level::warn, "shutdown grace period over: closing remaining connections");
            state.registry.close_all();
            grace.expires_after(std::chrono::seconds(5));
            grace.async_wait([&](const boost::system::error_code& last_ec) {
                if (last_ec) return;
                log_message(log_level::warn, "sessions still busy after closing: stopping the I/O threads");
                pool.stop();
            });
        });
        state.registry.stop_all([&] { asio::post(ioc, [&] { grace.cancel(); }); });
    };
    // SIGHUP reloads and waits again; SIGINT and SIGTERM end the wait.
    std::function<void()> wait_for_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            if (signal != SIGHUP) return shut_down(signal);
            reload_tls(tls.get(), config);
            wait_for_signal();
        });
    };
    wait_for_signal();

    spawn_accept_loop(acceptor, state, pool);
    pool.run();
    state.registry.forget_drained();  // sessions destroyed with the pool must not post to it
    store->drain_writes();            // queued writes' answers must not be posted after the pool goes
    blocking.join();
    log_message(log_level::info, "stopped");
    return 0;
}

}  // namespace chunklog::api
