#include "api/server/response_header.hpp"

#include <chunklog/version.hpp>

#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace chunklog::api {
namespace {

const std::string server_field = std::string("Server: chunklogd/") + software_version + "\r\n";

// A number's decimal text, in a buffer the caller keeps.
using decimal_buffer = std::array<char, 20>;
std::string_view decimal(std::uint64_t value, decimal_buffer& buffer) {
    auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
    return {buffer.data(), static_cast<std::size_t>(end - buffer.data())};
}

// The header is written twice through one function: once to count its
// size, once into a string of exactly that size (no growth, no capacity
// check per piece: this runs for every answer).
struct size_counter {
    std::size_t size = 0;
    void put(std::string_view text) { size += text.size(); }
};
struct text_copier {
    char* at;
    void put(std::string_view text) { at = std::copy(text.begin(), text.end(), at); }
};

struct header_numbers {
    std::string_view status;
    std::string_view reason;
    std::string_view request_id;
    std::string_view content_length;  // empty: no Content-Length field
};

template <typename Sink>
void write_header(Sink& out, const response& r, const header_framing& framing, const header_numbers& numbers) {
    auto field = [&out](std::string_view name, std::string_view value) {
        out.put(name);
        out.put(": ");
        out.put(value);
        out.put("\r\n");
    };
    out.put(framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.put(numbers.status);
    out.put(" ");
    out.put(numbers.reason);
    out.put("\r\n");
    out.put(server_field);
    field("X-Request-Id", numbers.request_id);
    if (!r.content_type.empty()) field("Content-Type", r.content_type);
    for (const auto& [name, value] : r.headers) field(name, value);
    if (framing.chunked) field("Transfer-Encoding", "chunked");
    else if (!numbers.content_length.empty()) field("Content-Length", numbers.content_length);
    if (framing.version == 10 && framing.keep_alive) field("Connection", "keep-alive");
    if (framing.version != 10 && !framing.keep_alive) field("Connection", "close");
    out.put("\r\n");
}

}  // namespace

std::string response_header(const response& r, const header_framing& framing) {
    namespace http = boost::beast::http;
    decimal_buffer status, request_id, content_length;
    header_numbers numbers{decimal(r.status, status), http::obsolete_reason(http::int_to_status(r.status)),
                           decimal(framing.request_id, request_id), {}};
    if (framing.content_length) numbers.content_length = decimal(*framing.content_length, content_length);
    size_counter counter;
    write_header(counter, r, framing, numbers);
    std::string out(counter.size, '\0');
    text_copier copier{out.data()};
    write_header(copier, r, framing, numbers);
    return out;
}

}  // namespace chunklog::api
