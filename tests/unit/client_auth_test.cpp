// The client's side of protocol section 7 without the real server: the
// bearer token on the wire, HTTPS with certificate and host name
// verification (against a test CA made here with OpenSSL), the codes of
// 401/403/429/507, waiting for Retry-After within its bounds, and the token
// and quota calls. Also that the CLI hands its token and CA file to the
// client.
#include "support/command.hpp"
#include "support/fake_server.hpp"
#include "support/outcome_printer.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <netdb.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

using namespace chunklog;
using test::fake_request;
using test::fake_response;
using test::fake_server;

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

const std::string head_body = R"({"head":"00000000-0000-0000-0000-000000000000","seq":0})";

// ---- A test PKI: one CA, and server certificates it signs. ----

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

pkey_ptr new_key() { return {EVP_EC_gen("P-256"), &EVP_PKEY_free}; }

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by `issuer_key` (self-signed when issuer is null).
x509_ptr new_cert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, const std::string& cn, const std::string& san,
                  long valid_from, long valid_until) {
    static std::atomic<long> serial{1};
    x509_ptr cert(X509_new(), &X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid_from);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid_until);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert.get();
    if (san.empty()) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_subject_alt_name, san);
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    REQUIRE(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0);
    return cert;
}

template <typename Write>
std::string pem(Write write) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    REQUIRE(write(bio.get()) == 1);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

struct server_identity {
    std::string cert_pem;
    std::string key_pem;
};

struct test_ca {
    pkey_ptr key = new_key();
    x509_ptr cert = new_cert(key.get(), nullptr, key.get(), "chunklog test CA", "", -3600, 86400);

    std::string cert_pem() const {
        return pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
    }
    // A server certificate for `san` ("IP:127.0.0.1,DNS:localhost"), valid
    // from `from` to `until` seconds from now.
    server_identity issue(const std::string& san, long from = -3600, long until = 86400) const {
        auto leaf_key = new_key();
        auto leaf = new_cert(leaf_key.get(), cert.get(), key.get(), "chunklog test server", san, from, until);
        return {pem([&](BIO* b) { return PEM_write_bio_X509(b, leaf.get()); }),
                pem([&](BIO* b) {
                    return PEM_write_bio_PrivateKey(b, leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                })};
    }
    std::string write_to(const std::filesystem::path& path) const {
        std::ofstream(path) << cert_pem();
        return path.string();
    }
};

// ---- A loopback server, plain or HTTPS, that shows the request headers. ----

struct seen_request {
    std::string method;
    std::string target;
    std::string body;
    std::string authorization;  // empty when absent
    bool has_authorization = false;
    std::string host;
};

struct scripted_answer {
    unsigned status = 200;
    std::string body;
};

class scripted_server {
public:
    using handler = std::function<scripted_answer(const seen_request&)>;

    // Plain HTTP, or HTTPS with `identity`.
    explicit scripted_server(handler h, std::optional<server_identity> identity = std::nullopt)
        : on_request_(std::move(h)) {
        if (identity) {
            tls_.emplace(ssl::context::tls_server);
            tls_->use_certificate_chain(asio::buffer(identity->cert_pem));
            tls_->use_private_key(asio::buffer(identity->key_pem), ssl::context::pem);
        }
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~scripted_server() {
        ioc_.stop();
        thread_.join();
    }

    std::string url(const std::string& host = "127.0.0.1") const {
        return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_);
    }
    std::vector<seen_request> received() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    std::size_t failed_handshakes() const { return failed_handshakes_; }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            asio::co_spawn(ioc_, serve_connection(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve_connection(tcp::socket socket) {
        if (!tls_) {
            beast::tcp_stream stream(std::move(socket));
            co_await serve(stream);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            ++failed_handshakes_;
            co_return;
        }
        co_await serve(stream);
    }

    template <typename Stream>
    asio::awaitable<void> serve(Stream& stream) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            auto [ec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            seen_request r{std::string(req.method_string()), std::string(req.target()), req.body(),
                           std::string(req[http::field::authorization]), req.count(http::field::authorization) > 0,
                           std::string(req[http::field::host])};
            {
                std::lock_guard lock(mutex_);
                log_.push_back(r);
            }
            auto answer = on_request_(r);
            http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
            res.set(http::field::content_type, "application/json");
            res.body() = answer.body;
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [write_ec, m] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
            if (write_ec || !req.keep_alive()) co_return;
        }
    }

    handler on_request_;
    std::optional<ssl::context> tls_;
    asio::io_context ioc_;
    tcp::acceptor acceptor_{ioc_, {asio::ip::make_address("127.0.0.1"), 0}};
    std::uint16_t port_ = acceptor_.local_endpoint().port();
    mutable std::mutex mutex_;
    std::vector<seen_request> log_;
    std::atomic<std::size_t> failed_handshakes_{0};
    std::thread thread_;
};

scripted_answer answer_head(const seen_request&) { return {200, head_body}; }

client_options options_for(const std::string& url) {
    client_options o;
    o.server_url = url;
    o.user = uuid::random();
    o.retries = 2;
    o.backoff = std::chrono::milliseconds(1);
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// A 429 with this Retry-After.
fake_response too_many(const std::string& retry_after) {
    std::string body = R"({"error":"too_many_requests","message":"slow down"})";
    return {"HTTP/1.1 429 Too Many\r\nContent-Type: application/json\r\nRetry-After: " + retry_after +
                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
            false};
}

// The code of a failed call; nullopt when it succeeded.
template <typename T>
std::optional<errc> code_of(const outcome<T>& r) {
    return r ? std::nullopt : std::optional<errc>(r.error().code);
}

// The CLI as a process with its config in `home`, against these servers.
test::command_result run_cli(const test::temp_dir& home, const std::string& args, const std::string& env = {}) {
    return test::run_cli_in(home.path(), args, env);
}

const std::string summary_body =
    R"({"user":"u","head":"00000000-0000-0000-0000-000000000000","seq":0,"transactions":0,"chunks":0,"bytes":0})";

}  // namespace

TEST_SUITE("client auth") {

TEST_CASE("a token goes out as a bearer header on every request, and no header without one") {
    scripted_server server(answer_head);
    auto o = options_for(server.url());
    o.token = "tok_EN-1";
    client c(o);
    REQUIRE(c.head());
    REQUIRE(c.info().error().code == errc::internal);  // the head body is no summary; the header went anyway
    auto o2 = options_for(server.url());
    client anonymous(o2);
    REQUIRE(anonymous.head());
    auto seen = server.received();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].authorization == "Bearer tok_EN-1");
    CHECK(seen[1].authorization == "Bearer tok_EN-1");
    CHECK_FALSE(seen[2].has_authorization);
}

TEST_CASE("a token that could break the header, or a malformed URL, is refused when the client is made") {
    for (const std::string& bad : std::vector<std::string>{"two words", "line\r\nX-Injected: 1", "tab\there",
                                                           std::string(4097, 'a'), "caf\xc3\xa9"}) {
        CAPTURE(bad);
        auto o = options_for("http://127.0.0.1:1");
        o.token = bad;
        CHECK_THROWS_AS(client{o}, std::invalid_argument);
    }
    auto o = options_for("http://127.0.0.1:1");
    o.token = std::string(4096, 'a');
    CHECK_NOTHROW(client{o});
    for (std::string url : {"ftp://127.0.0.1:1", "https://", "127.0.0.1:8080"}) {
        CAPTURE(url);
        CHECK_THROWS_AS(client(options_for(url)), std::invalid_argument);
    }
    CHECK_NOTHROW(client(options_for("https://127.0.0.1:1")));
    CHECK_NOTHROW(client(options_for("https://[::1]:1")));
}

TEST_CASE("401, 403, 429 and 507 come back as their protocol codes") {
    const std::vector<std::pair<unsigned, std::string>> answers{
        {401, "unauthorized"}, {403, "forbidden"}, {429, "too_many_requests"},
        {507, "quota_exceeded"}, {507, "insufficient_storage"}};
    for (const auto& answer : answers) {
        auto status = answer.first;  // named copies: clang 14 cannot capture structured bindings
        auto code = answer.second;
        CAPTURE(code);
        fake_server server([&](const fake_request&) {
            return fake_response::http(status, R"({"error":")" + code + R"(","message":"m"})");
        });
        auto o = options_for(server.url());
        o.retries = 0;
        client c(o);
        auto h = c.head();
        REQUIRE_FALSE(h);
        CHECK(code_name(h.error().code) == code);
        CHECK(h.error().message == "m");
    }
}

TEST_CASE("401, 403 and 429 without a JSON body (a proxy's page) still have their codes") {
    for (auto answer : {std::pair{401u, errc::unauthorized}, {403u, errc::forbidden}, {429u, errc::too_many_requests}}) {
        auto status = answer.first;  // named copies: clang 14 cannot capture structured bindings
        auto code = answer.second;
        CAPTURE(status);
        fake_server server([&](const fake_request&) { return fake_response::http(status, "<html/>", "text/html"); });
        auto o = options_for(server.url());
        o.retries = 0;
        client c(o);
        CHECK(code_of(c.head()) == code);
    }
    fake_server server([](const fake_request&) { return fake_response::http(507, "full", "text/plain"); });
    client c(options_for(server.url()));
    CHECK(code_of(c.head()) == errc::internal);  // 507 could be either code: malformed
}

TEST_CASE("a 429 is sent again after its Retry-After, and then succeeds") {
    std::atomic<int> calls{0};
    fake_server server([&](const fake_request&) {
        return calls++ == 0 ? too_many("1") : fake_response::http(200, head_body);
    });
    client c(options_for(server.url()));
    auto start = std::chrono::steady_clock::now();
    auto h = c.head();
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(h);
    CHECK(server.requests() == 2);
    CHECK(elapsed >= std::chrono::milliseconds(950));
    CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("a Retry-After past max_rate_limit_wait is returned at once, as is the last retry's 429") {
    {
        fake_server server([](const fake_request&) { return too_many("120"); });
        client c(options_for(server.url()));  // max_rate_limit_wait: 60 s by default
        auto start = std::chrono::steady_clock::now();
        auto h = c.head();
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
        REQUIRE_FALSE(h);
        CHECK(h.error().code == errc::too_many_requests);
        CHECK(h.error().message == "slow down");
        CHECK(server.requests() == 1);
    }
    {
        // 1 s each time, 1 s in all: one wait, then the second 429 is returned.
        fake_server server([](const fake_request&) { return too_many("1"); });
        auto o = options_for(server.url());
        o.max_rate_limit_wait = std::chrono::seconds(1);
        client c(o);
        CHECK(code_of(c.head()) == errc::too_many_requests);
        CHECK(server.requests() == 2);
    }
    {
        // No wait asked: bounded by the retries.
        fake_server server([](const fake_request&) { return too_many("0"); });
        client c(options_for(server.url()));  // retries = 2
        CHECK(code_of(c.head()) == errc::too_many_requests);
        CHECK(server.requests() == 3);
    }
    {
        // A date instead of seconds: the backoff instead.
        fake_server server([](const fake_request&) { return too_many("Wed, 21 Oct 2015 07:28:00 GMT"); });
        client c(options_for(server.url()));
        CHECK(code_of(c.head()) == errc::too_many_requests);
        CHECK(server.requests() == 3);
    }
}

TEST_CASE("a DELETE answered 429 is sent again: the server refused it unread") {
    std::atomic<int> calls{0};
    fake_server server([&](const fake_request&) {
        return calls++ == 0 ? too_many("0") : fake_response::http(204, "");
    });
    client c(options_for(server.url()));
    CHECK(c.delete_user());
    CHECK(server.requests() == 2);
}

TEST_CASE("create_token sends label, scope and expiry, and reads the token back") {
    fake_server server([](const fake_request&) {
        return fake_response::http(201, R"({"id":"t1","token":"s3cret","label":"laptop","scope":"read",)"
                                        R"("created":"2026-11-30T12:00:00Z","expires":"2026-12-30T12:00:00Z"})");
    });
    client c(options_for(server.url()));
    auto t = c.create_token("laptop", token_scope::read, std::chrono::hours(24 * 30));
    REQUIRE(t);
    CHECK(t->id == "t1");
    CHECK(t->token == "s3cret");
    CHECK(t->label == "laptop");
    CHECK(t->scope == token_scope::read);
    CHECK(t->created == "2026-11-30T12:00:00Z");
    CHECK(t->expires == std::optional<std::string>("2026-12-30T12:00:00Z"));
    auto sent = server.received().at(0);
    CHECK(sent.method == "POST");
    CHECK(sent.target == "/0.1/" + c.options().user.to_string() + "/tokens");
    auto body = boost::json::parse(sent.body).as_object();
    CHECK(body.at("label") == "laptop");
    CHECK(body.at("scope") == "read");
    CHECK(body.at("expires_in") == 30 * 86400);

    REQUIRE(c.create_token());
    auto plain = boost::json::parse(server.received().at(1).body).as_object();
    CHECK(plain.at("label") == "");
    CHECK(plain.at("scope") == "write");
    CHECK_FALSE(plain.contains("expires_in"));
}

TEST_CASE("a token answer of the wrong shape is errc::internal") {
    for (std::string body : {R"({"token":"s","label":"","scope":"write","created":"t","expires":null})",
                             R"({"id":"t1","label":"","scope":"write","created":"t","expires":null})",
                             R"({"id":"t1","token":"s","label":"","scope":"admin","created":"t","expires":null})",
                             R"({"id":"t1","token":"s","label":"","scope":"write","created":"t","expires":5})",
                             R"({"id":"t1","token":"s","label":"","scope":"write","created":"t"})",
                             R"({"id":"","token":"s","label":"","scope":"write","created":"t","expires":null})",
                             R"({"id":"t1","token":"","label":"","scope":"write","created":"t","expires":null})"}) {
        CAPTURE(body);
        fake_server server([&](const fake_request&) { return fake_response::http(201, body); });
        client c(options_for(server.url()));
        CHECK(code_of(c.create_token()) == errc::internal);
    }
}

TEST_CASE("a new token whose answer was lost is not asked for again") {
    fake_server server([](const fake_request&) { return fake_response::drop(); });
    client c(options_for(server.url()));
    CHECK(code_of(c.create_token("x")) == errc::network);
    CHECK(server.requests() == 1);
}

TEST_CASE("list_tokens, revoke_token and set_quota") {
    fake_server server([](const fake_request& r) {
        if (r.method == "GET")
            return fake_response::http(200, R"({"tokens":[{"id":"a","label":"one","scope":"write",)"
                                            R"("created":"2026-11-30T12:00:00Z","expires":null},)"
                                            R"({"id":"b","label":"","scope":"read","created":"2026-11-30T12:00:01Z",)"
                                            R"("expires":"2027-01-01T00:00:00Z"}]})");
        return fake_response::http(204, "");
    });
    client c(options_for(server.url()));
    const auto base = "/0.1/" + c.options().user.to_string();
    auto tokens = c.list_tokens();
    REQUIRE(tokens);
    REQUIRE(tokens->size() == 2);
    CHECK((*tokens)[0].id == "a");
    CHECK((*tokens)[0].token.empty());
    CHECK_FALSE((*tokens)[0].expires);
    CHECK((*tokens)[1].scope == token_scope::read);
    CHECK((*tokens)[1].expires == std::optional<std::string>("2027-01-01T00:00:00Z"));

    REQUIRE(c.revoke_token("a/b?c"));
    CHECK(code_of(c.revoke_token("")) == errc::bad_request);
    REQUIRE(c.set_quota(std::nullopt));
    REQUIRE(c.set_quota(std::uint64_t{10} << 30));
    auto seen = server.received();
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].target == base + "/tokens");
    CHECK(seen[1].method == "DELETE");
    CHECK(seen[1].target == base + "/tokens/a%2Fb%3Fc");
    CHECK(seen[2].method == "PUT");
    CHECK(seen[2].target == base + "/quota");
    CHECK(boost::json::parse(seen[2].body) == boost::json::parse(R"({"bytes":null})"));
    CHECK(boost::json::parse(seen[3].body) == boost::json::parse(R"({"bytes":10737418240})"));
}

// Whether the name `localhost` resolves (a bare chroot may have no /etc/hosts).
bool localhost_resolves() {
    addrinfo* found = nullptr;
    bool ok = ::getaddrinfo("localhost", nullptr, nullptr, &found) == 0;
    if (found != nullptr) ::freeaddrinfo(found);
    return ok;
}

TEST_CASE("https: a certificate from the CA in ca_file is verified, by IP address and by host name") {
    test::temp_dir dir;
    test_ca ca;
    scripted_server server(answer_head, ca.issue("IP:127.0.0.1,DNS:localhost"));
    std::vector<std::string> hosts{"127.0.0.1"};
    if (localhost_resolves()) hosts.push_back("localhost");
    else MESSAGE("the host-name leg is skipped: `localhost` does not resolve here (no /etc/hosts entry)");
    for (const auto& host : hosts) {
        CAPTURE(host);
        auto o = options_for(server.url(host));
        o.ca_file = ca.write_to(dir.path() / "ca.pem");
        o.token = "over-tls";
        client c(o);
        REQUIRE(c.head());
        REQUIRE(c.head());  // the same connection, kept alive
    }
    auto seen = server.received();
    REQUIRE(seen.size() == 2 * hosts.size());
    CHECK(seen[0].authorization == "Bearer over-tls");
    if (hosts.size() == 2) CHECK(seen[2].host == "localhost");
}

TEST_CASE("https: a certificate that does not verify is errc::tls_failure, never retried") {
    test::temp_dir dir;
    test_ca ca, other_ca;
    struct bad_case {
        const char* what;
        server_identity identity;
        const char* url_host;
        const test_ca* trusted;
        const char* reason;
    };
    const std::vector<bad_case> cases{
        {"an unknown CA", ca.issue("IP:127.0.0.1"), "127.0.0.1", nullptr, "does not verify"},
        {"another CA", ca.issue("IP:127.0.0.1"), "127.0.0.1", &other_ca, "does not verify"},
        {"another IP address", ca.issue("IP:127.0.0.2,DNS:localhost"), "127.0.0.1", &ca, "mismatch"},
        {"another host name", ca.issue("DNS:chunklog.test,IP:127.0.0.1"), "localhost", &ca, "mismatch"},
        {"expired", ca.issue("IP:127.0.0.1", -7200, -3600), "127.0.0.1", &ca, "expired"},
        {"not yet valid", ca.issue("IP:127.0.0.1", 3600, 7200), "127.0.0.1", &ca, "not yet valid"},
    };
    for (const auto& bad : cases) {
        CAPTURE(bad.what);
        if (std::string_view(bad.url_host) == "localhost" && !localhost_resolves()) {
            MESSAGE("skipped: `localhost` does not resolve here: " << bad.what);
            continue;
        }
        scripted_server server(answer_head, bad.identity);
        auto o = options_for(server.url(bad.url_host));
        if (bad.trusted) o.ca_file = bad.trusted->write_to(dir.path() / "trusted.pem");
        client c(o);
        auto h = c.head();
        REQUIRE_FALSE(h);
        CHECK(h.error().code == errc::tls_failure);
        CHECK(h.error().message.find(bad.reason) != std::string::npos);
        CHECK(c.requests_sent() == 1);
        CHECK(server.received().empty());  // nothing was sent, the token least of all
    }
}

TEST_CASE("https to a server that speaks plain HTTP is errc::tls_failure") {
    fake_server server([](const fake_request&) { return fake_response::http(200, head_body); });
    auto o = options_for("https://127.0.0.1:" + std::to_string(server.port()));
    client c(o);
    CHECK(code_of(c.head()) == errc::tls_failure);
}

TEST_CASE("plain HTTP to an HTTPS server fails as a network error, not a crash") {
    test_ca ca;
    scripted_server server(answer_head, ca.issue("IP:127.0.0.1"));
    auto o = options_for("http://127.0.0.1:" + server.url().substr(server.url().rfind(':') + 1));
    client c(o);
    auto h = c.head();
    REQUIRE_FALSE(h);
    CHECK((h.error().code == errc::network || h.error().code == errc::internal));
}

TEST_CASE("a CA file that cannot be loaded is refused when the client is made") {
    test::temp_dir dir;
    auto o = options_for("https://127.0.0.1:1");
    o.ca_file = (dir.path() / "missing.pem").string();
    CHECK_THROWS_AS(client{o}, std::invalid_argument);
    std::ofstream(dir.path() / "garbage.pem") << "not a certificate\n";
    o.ca_file = (dir.path() / "garbage.pem").string();
    CHECK_THROWS_AS(client{o}, std::invalid_argument);
    o.server_url = "http://127.0.0.1:1";  // plain HTTP: the CA file is not used
    CHECK_NOTHROW(client{o});
}

TEST_CASE("the CLI sends the token of its flag, its environment or its config, and trusts --ca-file") {
    test::temp_dir home;
    test_ca ca;
    scripted_server server([](const seen_request&) { return scripted_answer{200, summary_body}; },
                           ca.issue("IP:127.0.0.1"));
    const auto user = uuid::random().to_string();
    const auto ca_file = ca.write_to(home.path() / "ca.pem");
    const auto where = "--server " + server.url() + " --user " + user;

    CHECK(run_cli(home, where + " info").exit == 10);  // the CA is not trusted
    CHECK(run_cli(home, where + " --ca-file " + ca_file + " --token from-flag info").exit == 0);
    CHECK(run_cli(home, where + " info", "CHUNKLOG_CA_FILE=" + ca_file + " CHUNKLOG_TOKEN=from-env").exit == 0);
    // init checks the token with one request, then saves it (and the CA file) for later commands.
    CHECK(run_cli(home, where + " --ca-file " + ca_file + " --token saved init").exit == 0);
    CHECK(run_cli(home, "info").exit == 0);
    CHECK(run_cli(home, "info --token flag-wins").exit == 0);
    auto seen = server.received();
    REQUIRE(seen.size() == 5);
    CHECK(seen[0].authorization == "Bearer from-flag");
    CHECK(seen[1].authorization == "Bearer from-env");
    CHECK(seen[2].authorization == "Bearer saved");
    CHECK(seen[2].target == "/0.1/" + user);
    CHECK(seen[3].authorization == "Bearer saved");
    CHECK(seen[4].authorization == "Bearer flag-wins");
}

}  // TEST_SUITE
