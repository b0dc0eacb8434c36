// The session's HTTP request reader on raw bytes: Beast's request_parser with
// chunklog's request_body, fed through api/server/request_reader.hpp's feed()
// and at_eof() exactly as api/server/http_session.cpp drives them (serve_one
// and the keep-alive loop of run), with the socket replaced by the fuzz input
// delivered in pieces.
//
// Input: byte 0 gives k = byte % 16, the next k bytes the sizes of the
// successive reads (a byte b reads b bytes, 0 reads 4096; they repeat
// cyclically; k = 0 delivers everything at once); the rest is what the
// client sends, followed by EOF. Limits are small, as chunklogd's
// --max-header-bytes and the service limits could set them, so that inputs
// of fuzzer size cross them. Must never crash or leak; a request read whole
// must respect its limit and its Content-Length, and a hashed body must hash
// to what sha256_of gives.
//
// Keep serve_one in step with http_session.cpp.
#include "api/routes.hpp"
#include "api/server/request_body.hpp"
#include "api/server/request_reader.hpp"
#include "api/service_options.hpp"

#include <chunklog/sha256.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using chunklog::api::http_method;
using chunklog::api::request_body;
using chunklog::api::route_kind;

constexpr std::size_t max_header_bytes = 1024;
constexpr std::size_t max_requests = 4096;  // far more than an input can hold: more means no progress

chunklog::api::service_limits fuzz_limits() {
    chunklog::api::service_limits limits;
    limits.max_chunk_bytes = 512;
    limits.max_json_bytes = 256;
    limits.max_publish_bytes = 1024;
    return limits;
}

void require(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "http_request_fuzz: invariant broken: %s\n", what);
    std::abort();
}

// The client side of the connection: hands out the input in pieces.
class fake_socket {
public:
    explicit fake_socket(std::string_view input) {
        std::size_t k = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 16;
        input.remove_prefix(std::min<std::size_t>(1, input.size()));
        for (std::size_t i = 0; i < k && !input.empty(); ++i) {
            auto b = static_cast<unsigned char>(input[0]);
            sizes_.push_back(b == 0 ? 4096 : b);
            input.remove_prefix(1);
        }
        rest_ = input;
    }

    // Appends the next piece to `buffer`; false at EOF.
    bool read_some(beast::flat_buffer& buffer) {
        if (rest_.empty()) return false;
        auto n = sizes_.empty() ? rest_.size() : std::min(sizes_[next_++ % sizes_.size()], rest_.size());
        auto space = buffer.prepare(n);
        std::memcpy(space.data(), rest_.data(), n);
        buffer.commit(n);
        rest_.remove_prefix(n);
        return true;
    }

private:
    std::vector<std::size_t> sizes_;
    std::size_t next_ = 0;
    std::string_view rest_;
};

struct body_rule {
    std::size_t limit;
    bool hash;
};

// router::body_rule_for.
body_rule body_rule_for(const chunklog::api::service_limits& limits, http_method method, route_kind kind) {
    if (method == http_method::put && kind == route_kind::chunk) return {limits.max_chunk_bytes, true};
    if (method == http_method::post && kind == route_kind::publish) return {limits.max_publish_bytes, false};
    return {limits.max_json_bytes, false};
}

class session {
public:
    explicit session(std::string_view input) : socket_(input) {}

    // run(): requests until one does not keep the connection alive.
    void run() {
        for (std::size_t served = 0;; ++served) {
            require(served < max_requests, "the session loops without consuming input");
            if (!wait_for_request()) return;
            if (!serve_one()) return;
        }
    }

private:
    fake_socket socket_;
    beast::flat_buffer buffer_;
    std::optional<chunklog::api::request_parser> parser_;
    const chunklog::api::service_limits limits_ = fuzz_limits();

    bool wait_for_request() { return buffer_.size() > 0 || socket_.read_some(buffer_); }

    // http_session::read_into, reading from the fake socket.
    beast::error_code read_into(chunklog::api::request_parser& parser, chunklog::api::request_part part) {
        for (;;) {
            if (auto done = chunklog::api::feed(parser, buffer_, part)) return *done;
            if (!socket_.read_some(buffer_)) return chunklog::api::at_eof(parser, part);
        }
    }

    // What answer_refusal reads of the request before answering.
    static void refuse(chunklog::api::request_parser& parser) {
        if (!parser.is_header_done()) return;
        (void)method_of(parser);
        (void)std::string(parser.get().target());
        (void)parser.get().version();
    }

    bool serve_one() {
        auto& parser = parser_.emplace();
        parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
        parser.body_limit(boost::none);
        auto ec = read_into(parser, chunklog::api::request_part::header);
        if (ec == http::error::end_of_stream) return false;
        if (ec) {
            refuse(parser);  // 431 or 400
            return false;
        }
        require(parser.is_header_done(), "read_into returned without a complete header");

        auto method = method_of(parser);
        std::string target(parser.get().target());
        auto route = chunklog::api::match_route(target);
        auto rule = body_rule_for(limits_, method, route.kind);
        if (auto length = parser.content_length(); length && *length > rule.limit) {
            refuse(parser);  // 413
            return false;
        }
        parser.body_limit(rule.limit);
        parser.get().body().hash = rule.hash;
        (void)boost::iequals(parser.get()[http::field::expect], "100-continue");  // 100 Continue written here

        parser.eager(true);
        auto body_ec = read_into(parser, chunklog::api::request_part::whole);
        if (body_ec == http::error::partial_message) return false;
        if (body_ec) {
            refuse(parser);  // 413 or 400
            return false;
        }
        require(parser.is_done(), "read_into returned without a complete request");

        auto& message = parser.get();
        auto& body = message.body();
        require(body.data.size() <= rule.limit, "a body read whole is over its limit");
        if (auto length = parser.content_length()) require(body.data.size() == *length, "body size differs from Content-Length");
        require(rule.hash || !body.hasher, "a body was hashed without being asked");
        require(!rule.hash || body.data.empty() || body.hasher, "a body to hash was read without hashing");
        std::string data = std::move(body.data);
        if (body.hasher) require(body.hasher->finish() == chunklog::sha256_of(data), "streamed SHA-256 differs from sha256_of");
        (void)std::string(message[http::field::if_none_match]);
        return message.keep_alive();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    session(std::string_view(reinterpret_cast<const char*>(data), size)).run();
    return 0;
}
