#include "api/server/response_header.hpp"

#include <chunklog/version.hpp>

#include <boost/beast/http/status.hpp>

namespace chunklog::api {
namespace {

const std::string server_field = std::string("Server: chunklogd/") + software_version + "\r\n";

void add_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string response_header(const response& r, const header_framing& framing) {
    namespace http = boost::beast::http;
    std::string out;
    // The fixed fields take under 200 bytes: one allocation for the whole text.
    std::size_t size = 200 + r.content_type.size();
    for (const auto& [name, value] : r.headers) size += name.size() + value.size() + 4;
    out.reserve(size);
    out.append(framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.append(std::to_string(r.status)).append(" ");
    out.append(http::obsolete_reason(http::int_to_status(r.status))).append("\r\n");
    out.append(server_field);
    add_field(out, "X-Request-Id", std::to_string(framing.request_id));
    if (!r.content_type.empty()) add_field(out, "Content-Type", r.content_type);
    for (const auto& [name, value] : r.headers) add_field(out, name, value);
    if (framing.chunked) add_field(out, "Transfer-Encoding", "chunked");
    else if (framing.content_length) add_field(out, "Content-Length", std::to_string(*framing.content_length));
    if (framing.version == 10 && framing.keep_alive) add_field(out, "Connection", "keep-alive");
    if (framing.version != 10 && !framing.keep_alive) add_field(out, "Connection", "close");
    out.append("\r\n");
    return out;
}

}  // namespace chunklog::api
