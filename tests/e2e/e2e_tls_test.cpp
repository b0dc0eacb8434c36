// End-to-end: chunklogd over TLS (protocol section 7). A real server with a
// self-signed certificate made by the openssl command line, and a small
// Beast/OpenSSL client: TLS 1.3 and 1.2 accepted, 1.1 refused by the server,
// plain HTTP on the TLS port gets no answer, unusable PEM files stop the
// start with a message naming the file, and SIGHUP swaps the certificate for
// new connections only, keeping the old one when the new files are broken.
#include "support/command.hpp"
#include "support/task_key.hpp"
#include "support/http_client.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace chunklog::test;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds io_limit{10};

// A self-signed P-256 certificate for 127.0.0.1 and localhost with the
// given common name, as dir/NAME-cert.pem and dir/NAME-key.pem.
struct pem_pair {
    fs::path cert, key;
};
pem_pair make_certificate(const fs::path& dir, const std::string& name, const std::string& common_name) {
    pem_pair files{dir / (name + "-cert.pem"), dir / (name + "-key.pem")};
    auto made = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=" + common_name +
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + files.key.string() + "' -out '" +
        files.cert.string() + "' 2>&1");
    INFO(made.out);  // not a structured binding: clang 14 cannot capture those
    REQUIRE(made.exit == 0);
    return files;
}

// Replaces `to` as a certificate renewal would: a new file renamed over it.
void replace_file(const fs::path& from, const fs::path& to) {
    auto scratch = to.string() + ".new";
    fs::copy_file(from, scratch, fs::copy_options::overwrite_existing);
    fs::rename(scratch, to);
}

struct client_options {
    fs::path trusted;  // CA file to verify the server against; empty: no verification
    int min_version = TLS1_2_VERSION;
    int max_version = 0;  // 0: the highest OpenSSL knows
    bool legacy = false;  // security level 0, so that this client itself allows TLS 1.0 and 1.1
};

// One TLS connection to the server: handshake, keep-alive requests, and
// what was negotiated. Every operation is bounded by io_limit.
class tls_client {
public:
    tls_client(std::uint16_t port, const client_options& options) : ctx_(ssl::context::tls_client) {
        auto* handle = ctx_.native_handle();
        if (options.legacy) {
            SSL_CTX_set_security_level(handle, 0);
            SSL_CTX_set_cipher_list(handle, "DEFAULT:@SECLEVEL=0");
        }
        SSL_CTX_set_min_proto_version(handle, options.min_version);
        SSL_CTX_set_max_proto_version(handle, options.max_version);
        if (!options.trusted.empty()) {
            ctx_.load_verify_file(options.trusted.string());
            ctx_.set_verify_mode(ssl::verify_peer);
        }
        stream_.emplace(ioc_, ctx_);
        if (!options.trusted.empty()) stream_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        beast::get_lowest_layer(*stream_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }

    beast::error_code handshake() {
        return run([&](auto done) { stream_->async_handshake(ssl::stream_base::client, done); });
    }

    // GET target on this connection; throws when the exchange fails.
    http::response<http::string_body> get(const std::string& target, bool keep_alive = true) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "localhost");
        req.keep_alive(keep_alive);
        auto ec = run([&](auto done) { http::async_write(*stream_, req, done); });
        if (ec) throw beast::system_error(ec);
        http::response<http::string_body> res;
        ec = run([&](auto done) { http::async_read(*stream_, buffer_, res, done); });
        if (ec) throw beast::system_error(ec);
        return res;
    }

    // What the next read sees (after the server ended the connection).
    beast::error_code read_end() {
        char byte;
        return run([&](auto done) { stream_->async_read_some(asio::buffer(&byte, 1), done); });
    }

    int version() { return SSL_version(stream_->native_handle()); }

    // The common name of the certificate the server presented.
    std::string peer_common_name() {
        X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
        if (cert == nullptr) return {};
        char name[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
        X509_free(cert);
        return name;
    }

private:
    asio::io_context ioc_;
    ssl::context ctx_;
    std::optional<ssl::stream<beast::tcp_stream>> stream_;
    beast::flat_buffer buffer_;

    // Starts one asynchronous operation and runs it to its end.
    template <typename Start>
    beast::error_code run(Start start) {
        beast::error_code result;
        beast::get_lowest_layer(*stream_).expires_after(io_limit);
        start([&result](beast::error_code ec, auto&&...) { result = ec; });
        ioc_.restart();
        ioc_.run();
        return result;
    }
};

// A connected, handshaken client, or a failed test.
std::unique_ptr<tls_client> connect_tls(std::uint16_t port, const client_options& options = {}) {
    auto client = std::make_unique<tls_client>(port, options);
    auto ec = client->handshake();
    INFO(ec.message());
    REQUIRE_FALSE(ec);
    return client;
}

// A counter's value in a /metrics text (-1 when absent).
long long metric(const std::string& text, const std::string& name) {
    auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

// Polls `ready` until it holds or ten seconds pass.
template <typename F>
bool eventually(F ready) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (ready()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ready();
}

// A chunklogd serving HTTPS with a fresh certificate (CN "first").
struct tls_server {
    temp_dir dir;
    pem_pair first = make_certificate(dir.path(), "first", "first");
    fs::path cert = dir.path() / "server-cert.pem";
    fs::path key = dir.path() / "server-key.pem";
    std::unique_ptr<server_process> server;

    tls_server() {
        fs::copy_file(first.cert, cert);
        fs::copy_file(first.key, key);
        server = std::make_unique<server_process>(
            dir.path() / "db", std::vector<std::string>{"--auth", "none", "--tls-cert", cert.string(), "--tls-key",
                                                        key.string()});
    }
    std::uint16_t port() const { return server->port(); }
};

std::string start_failure_output(const temp_dir& dir, const fs::path& cert, const fs::path& key, int& status) {
    auto [code, out] = run_command(std::string(CHUNKLOGD_PATH) + " --listen 127.0.0.1:0 --auth none --data-dir '" +
                                   (dir.path() / "db").string() + "' --tls-cert '" + cert.string() + "' --tls-key '" +
                                   key.string() + "' 2>&1");
    status = code;
    return out;
}

}  // namespace

TEST_SUITE("e2e_tls") {

TEST_CASE("GET /healthz over TLS 1.3 verifies the certificate, and the close sends close_notify") {
    tls_server s;
    auto client = connect_tls(s.port(), {.trusted = s.first.cert});
    CHECK(client->version() == TLS1_3_VERSION);
    auto res = client->get("/healthz");
    CHECK(res.result_int() == 200);
    CHECK(res.body().find("ok") != std::string::npos);
    CHECK(client->get("/healthz").result_int() == 200);  // the same connection, kept alive
    auto last = client->get("/healthz", false);
    CHECK(last.result_int() == 200);
    CHECK(client->read_end() == asio::error::eof);  // a clean TLS close, not a truncation
}

TEST_CASE("GET /healthz over TLS 1.2") {
    tls_server s;
    auto client = connect_tls(s.port(), {.trusted = s.first.cert, .max_version = TLS1_2_VERSION});
    CHECK(client->version() == TLS1_2_VERSION);
    CHECK(client->get("/healthz").result_int() == 200);
}

TEST_CASE("TLS 1.1 is refused by the server, and /metrics counts handshakes") {
    tls_server s;
    auto before = connect_tls(s.port())->get("/metrics").body();
    tls_client old(s.port(), {.trusted = {}, .min_version = TLS1_VERSION, .max_version = TLS1_1_VERSION, .legacy = true});
    auto ec = old.handshake();
    REQUIRE(ec);
    // The server's protocol_version alert: this client did offer TLS 1.1.
    CHECK(ec.message().find("protocol version") != std::string::npos);
    auto after = connect_tls(s.port())->get("/metrics").body();
    CHECK(metric(after, "chunklog_tls_handshakes_total") > metric(before, "chunklog_tls_handshakes_total"));
    CHECK(metric(after, "chunklog_tls_handshake_failures_total") ==
          metric(before, "chunklog_tls_handshake_failures_total") + 1);
}

TEST_CASE("plain HTTP on the TLS port gets no 200 and the connection closes") {
    tls_server s;
    auto raw = raw_exchange(s.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    CHECK(first_status(raw) != 200);
    CHECK(raw.find("\"ok\"") == std::string::npos);
    // The server goes on serving TLS.
    CHECK(connect_tls(s.port())->get("/healthz").result_int() == 200);
}

TEST_CASE("a missing or mismatched key stops chunklogd at start with a message naming the file") {
    temp_dir dir;
    auto a = make_certificate(dir.path(), "a", "a");
    auto b = make_certificate(dir.path(), "b", "b");
    int status = 0;

    auto missing = dir.path() / "no-such-key.pem";
    auto out = start_failure_output(dir, a.cert, missing, status);
    CHECK(status != 0);
    CHECK(out.find(missing.string()) != std::string::npos);
    CHECK(out.find("No such file") != std::string::npos);

    out = start_failure_output(dir, a.cert, b.key, status);
    CHECK(status != 0);
    CHECK(out.find(b.key.string()) != std::string::npos);
    CHECK(out.find("does not match") != std::string::npos);

    out = start_failure_output(dir, a.key, a.key, status);  // a key where the certificate should be
    CHECK(status != 0);
    CHECK(out.find(a.key.string() + ": no PEM certificate") != std::string::npos);

    CHECK_FALSE(fs::exists(dir.path() / "db"));  // refused before the store was opened

    auto [usage_status, usage] = run_command(std::string(CHUNKLOGD_PATH) + " --tls-cert '" + a.cert.string() + "' 2>&1");
    CHECK(usage_status == 2);
    CHECK(usage.find("--tls-key") != std::string::npos);
}

TEST_CASE("SIGHUP: new connections get the new certificate, open ones go on, broken files keep the old one") {
    tls_server s;
    auto kept = connect_tls(s.port(), {.trusted = s.first.cert});
    CHECK(kept->peer_common_name() == "first");
    CHECK(kept->get("/healthz").result_int() == 200);

    auto second = make_certificate(s.dir.path(), "second", "second");
    replace_file(second.cert, s.cert);
    replace_file(second.key, s.key);
    REQUIRE(::kill(s.server->pid(), SIGHUP) == 0);
    CHECK(eventually([&] { return connect_tls(s.port())->peer_common_name() == "second"; }));
    CHECK(connect_tls(s.port(), {.trusted = second.cert})->get("/healthz").result_int() == 200);

    // The connection opened before the reload still works, on its old certificate.
    CHECK(kept->get("/healthz").result_int() == 200);
    CHECK(kept->peer_common_name() == "first");

    // A renewal half done: a new certificate beside the old key. The reload
    // fails, says why, and the previous certificate stays.
    auto third = make_certificate(s.dir.path(), "third", "third");
    replace_file(third.cert, s.cert);
    REQUIRE(::kill(s.server->pid(), SIGHUP) == 0);
    CHECK(eventually([&] { return s.server->log().find("not reloaded") != std::string::npos; }));
    CHECK(s.server->log().find("does not match") != std::string::npos);
    CHECK(connect_tls(s.port(), {.trusted = second.cert})->peer_common_name() == "second");
    CHECK(kept->get("/healthz").result_int() == 200);

    CHECK(s.server->terminate_and_wait(SIGTERM) == 0);
}

}

namespace {

// Runs the chunklog CLI with its config and replica under dir/home.
command_result run_cli(const fs::path& dir, const std::string& home, const std::string& args) {
    return run_cli_in(dir / home, args, "CHUNKLOG_ENCRYPTION_SECRET='" + task_secret + "'");
}

}  // namespace

TEST_CASE("the task replica syncs over HTTPS with a token, trusting the server through --ca-file only") {
    temp_dir dir;
    auto pem = make_certificate(dir.path(), "server", "localhost");
    server_process server(dir.path() / "db", {"--tls-cert", pem.cert.string(), "--tls-key", pem.key.string(),
                                              "--registration", "open"});
    auto url = "https://127.0.0.1:" + std::to_string(server.port());
    auto untrusted = run_cli(dir.path(), "c", "--server " + url + " init");
    CHECK(untrusted.exit == 10);  // the certificate does not verify against the system store

    auto trust = " --ca-file " + pem.cert.string();
    REQUIRE(run_cli(dir.path(), "a", "--server " + url + trust + " --json init").exit == 0);
    REQUIRE(run_cli(dir.path(), "a", "task add buy milk over tls").exit == 0);
    REQUIRE(run_cli(dir.path(), "a", "task sync").exit == 0);
    auto user = run_cli(dir.path(), "a", "--json info");
    REQUIRE(user.exit == 0);
    auto id = boost::json::parse(user.out).at("user").as_string();
    auto device = run_cli(dir.path(), "a", "token create --label b");
    REQUIRE(device.exit == 0);
    auto token = device.out.substr(0, device.out.find('\n'));
    REQUIRE(run_cli(dir.path(), "b", "--server " + url + trust + " --user " + std::string(id) + " --token " + token +
                                          " init").exit == 0);
    REQUIRE(run_cli(dir.path(), "b", "task sync").exit == 0);
    auto listed = run_cli(dir.path(), "b", "task list --json");
    CHECK(listed.out.find("buy milk over tls") != std::string::npos);
}
