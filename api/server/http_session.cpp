#include "api/server/http_session.hpp"

#include "api/error_response.hpp"
#include "api/server/request_body.hpp"
#include "api/server/request_reader.hpp"
#include "api/server/deadline_sweeper.hpp"
#include "api/request_log.hpp"
#include "api/server/response_header.hpp"
#include "api/server/tls_context.hpp"
#include "api/routes.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <optional>

namespace chunklog::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t first_read_bytes = 4096;
constexpr std::size_t max_drain_bytes = 4 << 20;
constexpr std::chrono::seconds drain_timeout{2};
constexpr std::size_t stream_batch_bytes = 64 * 1024;
constexpr std::uint64_t skippable_body_bytes = 64 * 1024;
constexpr std::chrono::seconds tls_shutdown_timeout{1};

using tls_stream = asio::ssl::stream<tcp::socket>;

template <typename F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F fn) {
    using result = std::invoke_result_t<F>;
    co_return co_await asio::co_spawn(
        pool.get_executor(), [fn = std::move(fn)]() mutable -> asio::awaitable<result> { co_return fn(); },
        asio::use_awaitable);
}

// Counts something in a gauge for as long as it lives (a long poll
// waiting, a request in flight).
template <void (metrics::*Count)(bool)>
class gauge_scope {
public:
    explicit gauge_scope(metrics& m) : metrics_(m) { (metrics_.*Count)(true); }
    ~gauge_scope() { (metrics_.*Count)(false); }
    gauge_scope(const gauge_scope&) = delete;
    gauge_scope& operator=(const gauge_scope&) = delete;

private:
    metrics& metrics_;
};
using waiting_poll = gauge_scope<&metrics::long_poll_waiting>;
using request_in_flight = gauge_scope<&metrics::request_in_flight>;

// One connection over Stream: a tcp::socket for plain HTTP, a tls_stream
// for HTTPS (both instantiated here only). The TLS variant first does the
// handshake under the header timeout, then serves requests exactly as the
// plain one; it holds the TLS context it started with until it ends.
template <typename Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
    // `tls` is the context of a TLS session, null for a plain one.
    http_session(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls, server_state& state,
                 io_thread_services home)
        : tls_(std::move(tls)),
          stream_(make_stream(std::move(socket), tls_.get())),
          sweeper_(home.sweeper),
          inbox_(home.inbox),
          state_(state) {
        state_.counters.connection_opened();
    }

    // Whatever ended the session (the peer, a timeout, an exception, or the
    // io_context destroyed with the coroutine pending), it unregisters here.
    ~http_session() {
        if (deadline_) sweeper_.remove(*deadline_);
        state_.counters.connection_closed();
        if (registry_id_ != 0) state_.registry.remove(registry_id_);
    }

    void start() {
        auto self = this->shared_from_this();
        std::weak_ptr<http_session> weak = self;
        registry_id_ = state_.registry.add([weak](bool force) {
            if (auto s = weak.lock()) asio::post(s->stream_.get_executor(), [s, force] { s->stop(force); });
        });
        asio::co_spawn(stream_.get_executor(), [self]() { return self->run(); },
                       [](std::exception_ptr e) { log_if_failed("a session", e); });
    }

private:
    std::shared_ptr<asio::ssl::context> tls_;  // outlives stream_; null for plain HTTP
    Stream stream_;
    bool handshake_done_ = false;  // TLS only: close_notify may be sent
    deadline_sweeper& sweeper_;
    completion_inbox& inbox_;
    std::optional<deadline_sweeper::handle> deadline_;  // registered while run() runs
    beast::flat_buffer buffer_;
    server_state& state_;
    std::uint64_t registry_id_ = 0;
    bool idle_ = true;
    std::uint64_t streamed_bytes_ = 0;  // body bytes of the current streamed answer
    std::optional<request_parser> parser_;  // the request being read
    std::string peer_;                      // the client's address

    static Stream make_stream(tcp::socket socket, asio::ssl::context* tls) {
        if constexpr (is_tls) return Stream(std::move(socket), *tls);
        else return socket;
    }

    // The TCP socket under the stream: what deadlines and stop() cancel.
    tcp::socket& socket() {
        if constexpr (is_tls) return stream_.next_layer();
        else return stream_;
    }

    // Ends the session once idle, or now (closing the socket) when forced.
    void stop(bool force) {
        log_message(log_level::debug, "session " + std::to_string(registry_id_) + ": stop requested, idle=" +
                                          std::to_string(idle_) + ", force=" + std::to_string(force));
        boost::system::error_code ignored;
        if (force) socket().close(ignored);
        else if (idle_) socket().cancel(ignored);
    }

    asio::awaitable<void> run() {
        deadline_ = sweeper_.add(socket());  // here, on this connection's own thread
        boost::system::error_code peer_ec;
        auto remote = socket().remote_endpoint(peer_ec);
        if (!peer_ec) peer_ = remote.address().to_string();
        bool ready = true;
        if constexpr (is_tls) ready = co_await handshake();
        // Plain statements around each co_await: g++ 12 mis-evaluates co_await
        // inside && and ?: expressions.
        while (ready && !state_.stopping.load()) {
            bool request_arrived = co_await wait_for_request();
            if (!request_arrived || state_.stopping.load()) break;
            idle_ = false;
            bool keep_alive = false;
            {
                request_in_flight counted(state_.counters);
                keep_alive = co_await serve_one();
            }
            idle_ = true;
            if (!keep_alive) break;
        }
        log_message(log_level::debug, "session " + std::to_string(registry_id_) + ": closing");
        co_await close_gracefully();
        log_message(log_level::debug, "session " + std::to_string(registry_id_) + ": closed");
    }

    // TLS only: the handshake, under the header timeout, counted in the
    // metrics. A failed one (a plain-HTTP request among them) ends the
    // connection without an answer.
    asio::awaitable<bool> handshake() requires is_tls {
        (*deadline_)->arm(state_.config.header_timeout);
        auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
        state_.counters.tls_handshake(!ec);
        if (ec) {
            log_message(log_level::debug, "session " + std::to_string(registry_id_) + ": TLS handshake with " + peer_ +
                                              " failed: " + ec.message());
            co_return false;
        }
        handshake_done_ = true;
        co_return true;
    }

    // Waits, under the idle timeout, until a request's first bytes are here.
    asio::awaitable<bool> wait_for_request() {
        if (buffer_.size() > 0) co_return true;
        (*deadline_)->arm(state_.config.idle_timeout);
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_bytes), use_tuple);
        buffer_.commit(n);
        co_return !ec && n > 0;
    }

    // Feeds the parser from the buffer, reading from the socket only when it
    // needs more: a request that arrived whole costs no extra I/O step (Beast's
    // async_read would still post its completion through the scheduler).
    // Errors as Beast's (see request_reader.hpp); a deadline shows as
    // operation_aborted (the sweeper cancels the socket).
    asio::awaitable<beast::error_code> read_into(request_parser& parser, request_part part) {
        for (;;) {
            if (auto done = feed(parser, buffer_, part)) co_return *done;
            auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)),
                                                                 use_tuple);
            // A TLS peer that closes without close_notify: no request is
            // delimited by the end of the connection, so it is the same.
            if (read_ec == asio::error::eof || read_ec == asio::ssl::error::stream_truncated)
                co_return at_eof(parser, part);
            if (read_ec) co_return read_ec;
            buffer_.commit(n);
        }
    }

    // Reads one request, answers it; returns whether the connection stays open.
    asio::awaitable<bool> serve_one() {
        auto rid = state_.next_request_id.fetch_add(1);
        auto& parser = parser_.emplace();  // a member: keeps the coroutine frame small enough to be recycled
        parser.header_limit(static_cast<std::uint32_t>(state_.config.max_header_bytes));
        parser.body_limit(boost::none);
        (*deadline_)->arm(state_.config.header_timeout);
        auto ec = co_await read_into(parser, request_part::header);
        if (ec == http::error::header_limit)
            co_return co_await answer_refusal(rid, parser, 431, errc::bad_request, "request header too large");
        if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted)
            co_return false;
        if (ec) co_return co_await answer_refusal(rid, parser, 400, errc::bad_request, "malformed HTTP request");

        auto started = std::chrono::steady_clock::now();
        request req;
        read_head_fields(req, parser);
        auto route = match_route(req.target);
        // Tokens, quotas and preflights are settled from the header alone:
        // a refused request's body is never read, unless it is small enough
        // that skipping it is cheaper than a new connection.
        if (auto refused = co_await admit(req, route)) {
            bool body_skipped = co_await skip_small_body(parser);
            bool keep_alive = body_skipped && parser.get().keep_alive() && !refused->close && !state_.stopping.load();
            co_return co_await answer_unread(rid, req, *refused, parser.get().version(), keep_alive, started);
        }
        auto rule = state_.routes.body_rule_for(req.method, route.kind);
        if (auto length = parser.content_length(); length && *length > rule.limit)
            co_return co_await answer_refusal(rid, parser, 413, errc::payload_too_large,
                                              "request body larger than " + std::to_string(rule.limit) + " bytes");
        parser.body_limit(rule.limit);
        parser.get().body().hash = rule.hash;
        if (boost::iequals(parser.get()[http::field::expect], "100-continue")) co_await send_continue(parser);

        (*deadline_)->arm(state_.config.body_timeout);
        parser.eager(true);
        auto body_ec = co_await read_into(parser, request_part::whole);
        if (body_ec == http::error::body_limit)
            co_return co_await answer_refusal(rid, parser, 413, errc::payload_too_large,
                                              "request body larger than " + std::to_string(rule.limit) + " bytes");
        if (body_ec == http::error::partial_message || body_ec == asio::error::operation_aborted ||
            body_ec == asio::error::eof)
            co_return false;
        if (body_ec) co_return co_await answer_refusal(rid, parser, 400, errc::bad_request, "malformed HTTP body");

        auto [client_keeps_alive, version] = take_request(req);

        response res = co_await answer(req, route);
        state_.routes.decorate(res, req);
        bool keep_alive = client_keeps_alive && !res.close && !state_.stopping.load();
        bool written = co_await write_response(res, req.method == http_method::head, version, keep_alive, rid);
        finish_log(rid, req, res, started);
        co_return written && keep_alive;
    }

    // The handler's answer, waiting first on the blocking pool or for HEAD
    // when the request asks it. A handler that throws gets 500 and the
    // connection closes; the server goes on.
    asio::awaitable<response> answer(request& req, const route_match& route) {
        std::optional<response> res;
        try {
            if (state_.routes.may_block(req.method, route.kind) || state_.routes.store().reads_block()) {
                res = co_await run_blocking(state_.blocking, [this, &req, &route] { return state_.handle(req, route); });
            } else {
                req.may_block = false;  // reads from memory, or asks for the pool
                res = state_.handle(req, route);
                if (res->retry_blocking) {
                    req.may_block = true;
                    res = co_await run_blocking(state_.blocking, [this, &req, &route] { return state_.handle(req, route); });
                }
            }
            if (res->deferred) {
                auto start = std::move(res->deferred);
                res = co_await await_deferred(std::move(start));
                res->route = route.kind;
            }
            if (res->poll) {
                // A waiting poll holds no read buffer (the next read makes one).
                if (buffer_.size() == 0) buffer_.shrink_to_fit();
                auto now = co_await wait_for_head_change(*res->poll);
                res = answer_poll(*res->poll, now);
                res->route = route.kind;
            }
        } catch (const std::exception& e) {
            log_message(log_level::error, "request " + req.target + " failed: " + e.what());
            res.reset();
        }
        if (res) co_return std::move(*res);
        auto failed = error_response(errc::internal, "the server failed to answer this request");
        failed.close = true;
        co_return failed;
    }

    // A long poll's answer, a function of HEAD alone: the many polls one
    // advance wakes on this I/O thread share one, built by the first of them
    // and copied by the rest.
    static response answer_poll(const long_poll& poll, const outcome<head_state>& now) {
        struct last_answer {
            uuid user;
            head_state head;
            response answer;
        };
        thread_local std::optional<last_answer> last;
        if (!now) return poll.answer(now);
        if (!last || last->user != poll.user || last->head != *now) last = last_answer{poll.user, *now, poll.answer(now)};
        return last->answer;
    }

    // The answer of a write the store completes later: waits, holding no
    // thread, for the store to hand back what makes the answer (through this
    // I/O thread's inbox), and makes it here. The I/O thread does not run
    // out of work meanwhile.
    asio::awaitable<response> await_deferred(std::function<void(answer_sink)> start) {
        auto executor = co_await asio::this_coro::executor;
        auto make = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(answer_maker)>(
            [this, &start, executor](auto handler) {
                auto resume = std::make_shared<decltype(handler)>(std::move(handler));
                auto work = std::make_shared<asio::executor_work_guard<asio::any_io_executor>>(executor);
                start([resume, work, &inbox = inbox_](answer_maker make) {
                    inbox.push([resume, make = std::move(make)]() mutable { std::move(*resume)(std::move(make)); });
                    work->reset();
                });
            },
            asio::use_awaitable);
        co_return make();
    }

    // Waits, holding no thread, until the user's HEAD differs from poll.known,
    // the wait is over, or the server stops; returns HEAD as read last, or as
    // a notification carried it. A notification's HEAD is taken only when its
    // seq is past the HEAD this wait read after subscribing: then it was
    // committed after that read, so it is HEAD at a moment of this wait (seq
    // only grows). Otherwise, or when a notification carries none, HEAD is
    // read again before deciding. (seq starts again at 0 when a user is
    // deleted: a write whose notification is overtaken by the user's
    // deletion and a new write could hand such a wait the old HEAD; the
    // client's next request sees the new one.)
    asio::awaitable<outcome<head_state>> wait_for_head_change(const long_poll& poll) {
        auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor());
        timer->expires_after(poll.wait);
        auto& watch = state_.routes.watch();
        const void* io_thread = &asio::query(stream_.get_executor(), asio::execution::context);
        auto settled = [&](const outcome<head_state>& h) { return !h || h->head != poll.known || state_.stopping.load(); };
        waiting_poll counted(state_.counters);
        for (;;) {
            // The waker runs on this session's I/O thread, with the other
            // wakers of that thread. It may run while HEAD is being read on
            // the blocking pool, before the wait below has begun, when a
            // cancel would find nothing to cancel: the flag keeps that wake.
            struct wake_state {
                bool woken = false;
                std::optional<head_state> now;  // as the notification carried it
            };
            auto woken = std::make_shared<wake_state>();
            auto id = watch.subscribe(poll.user, io_thread, [timer, woken](const head_state* now) {
                woken->woken = true;
                if (now) woken->now = *now;
                timer->cancel();
            });
            auto before = co_await read_head(poll.user);
            if (settled(before)) {
                watch.unsubscribe(poll.user, id);
                co_return before;
            }
            bool expired = false;
            if (!woken->woken) {
                auto [ec] = co_await timer->async_wait(use_tuple);
                expired = !ec && !woken->woken;
            }
            watch.unsubscribe(poll.user, id);
            if (woken->now && woken->now->seq > before->seq) co_return *woken->now;
            auto after = co_await read_head(poll.user);
            if (expired || settled(after)) co_return after;  // the wait is over, or HEAD moved
        }
    }

    // HEAD from the store: on this I/O thread when the store reads from
    // memory, on the blocking pool when it asks a database server.
    asio::awaitable<outcome<head_state>> read_head(const uuid& user) {
        auto& store = state_.routes.store();
        if (!store.reads_block()) co_return store.head(user);
        co_return co_await run_blocking(state_.blocking, [&store, &user] { return store.head(user); });
    }

    // A fixed text rather than Beast's serializer, which would be compiled
    // once per stream type for these few bytes.
    asio::awaitable<void> send_continue(request_parser& parser) {
        std::string_view text = parser.get().version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n"
                                                             : "HTTP/1.1 100 Continue\r\n\r\n";
        (*deadline_)->arm(state_.config.write_timeout);
        co_await asio::async_write(stream_, asio::buffer(text), use_tuple);
    }

    void read_head_fields(request& req, const request_parser& parser) {
        const auto& message = parser.get();
        req.method = method_of(parser);
        req.target = std::string(message.target());
        req.authorization = std::string(message[http::field::authorization]);
        req.origin = std::string(message[http::field::origin]);
        req.client_id = std::string(message["X-Client-Id"]);
        req.content_type = std::string(message[http::field::content_type]);
        if (auto length = parser.content_length()) req.content_length = *length;
        req.peer = peer_;
    }

    // Moves the body and the fields the answer needs from the parser into
    // `req`, then drops the parser: its header fields are not held while the
    // answer is made (a long poll may wait long). What the reply needs of
    // the request line.
    struct reply_terms {
        bool client_keeps_alive;
        unsigned version;
    };
    reply_terms take_request(request& req) {
        auto& message = parser_->get();
        auto& body = message.body();
        req.body = std::move(body.data);
        if (body.hasher) req.body_sha256 = body.hasher->finish();
        req.if_none_match = std::string(message[http::field::if_none_match]);
        reply_terms terms{message.keep_alive(), message.version()};
        parser_.reset();
        return terms;
    }

    // The router's admission step (on the blocking pool when it must read
    // the disk): nullopt to go on and read the body, else the answer.
    asio::awaitable<std::optional<response>> admit(request& req, const route_match& route) {
        req.may_block = false;
        std::optional<response> refused;
        if (!state_.routes.store().reads_block()) refused = state_.routes.admit(req, route);
        if (state_.routes.store().reads_block() || (refused && refused->retry_blocking)) {
            req.may_block = true;
            refused = co_await run_blocking(state_.blocking, [this, &req, &route] { return state_.routes.admit(req, route); });
        }
        req.may_block = true;
        if (refused) state_.routes.decorate(*refused, req);
        co_return refused;
    }

    // Reads and drops the body of a refused request when it has a known
    // length of at most skippable_body_bytes; whether the request is over.
    asio::awaitable<bool> skip_small_body(request_parser& parser) {
        if (parser.is_done()) co_return true;
        auto length = parser.content_length();
        if (!length || *length > skippable_body_bytes) co_return false;
        parser.body_limit(*length);
        (*deadline_)->arm(state_.config.body_timeout);
        auto ec = co_await read_into(parser, request_part::whole);
        co_return !ec;
    }

    // Answers a request whose body is left unread. The connection stays
    // open only when no body follows the header.
    asio::awaitable<bool> answer_unread(std::uint64_t rid, const request& req, response& res, unsigned version,
                                        bool keep_alive, std::chrono::steady_clock::time_point started) {
        bool written = co_await write_response(res, req.method == http_method::head, version, keep_alive, rid);
        finish_log(rid, req, res, started);
        co_return written && keep_alive;
    }

    // Answers a request that will not be read further, then closes.
    asio::awaitable<bool> answer_refusal(std::uint64_t rid, request_parser& parser,
                                         unsigned status, errc code, std::string message) {
        auto started = std::chrono::steady_clock::now();
        auto res = error_response(code, std::move(message));
        res.status = status;
        request req;
        if (parser.is_header_done()) read_head_fields(req, parser);
        state_.routes.decorate(res, req);
        unsigned version = parser.is_header_done() ? parser.get().version() : 11;
        co_await write_response(res, false, version, false, rid);
        finish_log(rid, req, res, started);
        co_return false;
    }

    asio::awaitable<bool> write_response(response& r, bool head_only, unsigned version, bool keep_alive,
                                         std::uint64_t rid) {
        header_framing framing{version, keep_alive, rid, std::nullopt, false};
        if (r.stream && !head_only) co_return co_await write_streamed(r, framing);
        bool bodiless = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
        if (!bodiless && !r.stream) framing.content_length = head_only && r.head_length ? *r.head_length : r.body.size();
        auto header = response_header(r, framing);
        std::array<asio::const_buffer, 2> message{asio::buffer(header), asio::buffer(r.body)};
        if (bodiless || head_only) message[1] = asio::const_buffer{};
        (*deadline_)->arm(state_.config.write_timeout);
        auto [ec, n] = co_await asio::async_write(stream_, message, use_tuple);
        co_return !ec;
    }

    // Appends pieces of a streamed body to `batch` until it holds
    // stream_batch_bytes or the generator stops (done, failed or blocked).
    static stream_step fill_batch(response& r, std::string& batch, bool may_block) {
        for (;;) {
            auto step = r.stream(batch, may_block);
            if (step != stream_step::more || batch.size() >= stream_batch_bytes) return step;
        }
    }

    // Sends the header, then what the generator yields as chunks of chunked
    // transfer encoding, each gathering pieces up to stream_batch_bytes so a
    // page of small lines costs few writes. A failed generator ends the
    // connection without the last chunk.
    asio::awaitable<bool> write_streamed(response& r, header_framing framing) {
        framing.chunked = true;
        auto header = response_header(r, framing);
        (*deadline_)->arm(state_.config.write_timeout);
        auto [header_ec, header_bytes] = co_await asio::async_write(stream_, asio::buffer(header), use_tuple);
        if (header_ec) co_return false;
        std::string batch;
        for (bool done = false; !done;) {
            batch.clear();
            // From memory on this I/O thread; what lies on disk (or in a
            // database server) is read on the pool.
            auto step = stream_step::blocked;
            if (!state_.routes.store().reads_block()) step = fill_batch(r, batch, false);
            if (step == stream_step::blocked)
                step = co_await run_blocking(state_.blocking, [&r, &batch] { return fill_batch(r, batch, true); });
            if (step == stream_step::failed || step == stream_step::blocked) co_return false;
            done = step == stream_step::done;
            if (batch.empty()) continue;
            streamed_bytes_ += batch.size();
            (*deadline_)->arm(state_.config.write_timeout);
            auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk(asio::buffer(batch)), use_tuple);
            if (ec) co_return false;
        }
        auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), use_tuple);
        co_return !ec;
    }

    void finish_log(std::uint64_t rid, const request& req, const response& res,
                    std::chrono::steady_clock::time_point started) {
        auto elapsed = std::chrono::steady_clock::now() - started;
        auto out = req.method == http_method::head ? 0 : res.body.size() + streamed_bytes_;
        streamed_bytes_ = 0;
        state_.counters.record_request(res.route, res.status, elapsed, req.body.size(), out);
        log_request(rid, method_name(req.method), req.target, res.status, req.body.size(), out, elapsed);
    }

    // Half-closes, then drains what the peer still sends for a moment, so an
    // answer sent before the body was read is not destroyed by a reset.
    asio::awaitable<void> close_gracefully() {
        if constexpr (is_tls) co_await send_close_notify();
        beast::error_code ec;
        socket().shutdown(tcp::socket::shutdown_send, ec);
        std::size_t drained = 0;
        (*deadline_)->arm(drain_timeout);
        while (!ec && drained < max_drain_bytes) {
            char scratch[16384];
            auto [read_ec, n] = co_await socket().async_read_some(asio::buffer(scratch), use_tuple);
            ec = read_ec;
            drained += n;
        }
        socket().close(ec);
    }

    // TLS only: the SSL shutdown, one way and under a short timeout. Marking
    // the peer's close_notify as received makes it send ours without waiting
    // for theirs (RFC 8446 6.1 allows it); what the peer still sends is then
    // drained as raw bytes like on a plain connection.
    asio::awaitable<void> send_close_notify() requires is_tls {
        if (!handshake_done_) co_return;
        auto* ssl = stream_.native_handle();
        SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
        (*deadline_)->arm(tls_shutdown_timeout);
        auto [ec] = co_await stream_.async_shutdown(use_tuple);
        if (ec) log_message(log_level::debug, "session " + std::to_string(registry_id_) + ": TLS shutdown: " + ec.message());
    }
};

// Both variants are instantiated implicitly by start_session below, member
// by member as used: an explicit instantiation would also instantiate the
// TLS-only members for the plain stream (clang 14 ignores their requires
// clause there).

}  // namespace

void log_if_failed(const char* what, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log_message(log_level::error, std::string(what) + " ended by an exception: " + ex.what());
    } catch (...) {
        log_message(log_level::error, std::string(what) + " ended by an unknown exception");
    }
}

std::uint64_t session_registry::add(std::function<void(bool force)> stop) {
    std::lock_guard lock(mutex_);
    auto id = ++next_id_;
    sessions_.emplace(id, std::move(stop));
    return id;
}

std::size_t session_registry::size() {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void session_registry::close_all() {
    std::vector<std::function<void(bool)>> stops;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, stop] : sessions_) stops.push_back(stop);
    }
    for (auto& stop : stops) stop(true);
}

void session_registry::forget_drained() {
    std::lock_guard lock(mutex_);
    on_drained_ = nullptr;
}

void session_registry::remove(std::uint64_t id) {
    std::function<void()> drained;
    {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
        if (stopping_ && sessions_.empty()) drained = std::move(on_drained_);
    }
    if (drained) drained();
}

void session_registry::stop_all(std::function<void()> on_drained) {
    std::vector<std::function<void(bool)>> stops;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (sessions_.empty()) {
            on_drained();
            return;
        }
        on_drained_ = std::move(on_drained);
        for (auto& [id, stop] : sessions_) stops.push_back(stop);
    }
    for (auto& stop : stops) stop(false);
}

void start_session(tcp::socket socket, server_state& state, io_thread_services home) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);  // a peer already gone is the session's to notice
    if (state.tls == nullptr) {
        std::make_shared<http_session<tcp::socket>>(std::move(socket), nullptr, state, home)->start();
        return;
    }
    // The context current now, kept for this connection's life.
    auto context = state.tls->current();
    std::make_shared<http_session<tls_stream>>(std::move(socket), std::move(context), state, home)->start();
}

void refuse_connection(tcp::socket socket, server_state& state) {
    state.counters.connection_refused();
    if (state.tls != nullptr) {  // a plain-text answer would mean nothing to a TLS client
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
    }
    auto text = std::make_shared<std::string>(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Content-Length: 68\r\n\r\n{\"error\":\"unavailable\",\"message\":\"too many open connections, retry\"}");
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    stream->expires_after(std::chrono::seconds(5));
    asio::async_write(*stream, asio::buffer(*text), [stream, text](beast::error_code, std::size_t) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream->socket().close(ignored);
    });
}

}  // namespace chunklog::api
