#include "api/server/request_reader.hpp"

#include <boost/beast/http/error.hpp>

namespace chunklog::api {
namespace http = boost::beast::http;

namespace {

bool finished(const request_parser& parser, request_part part) {
    return part == request_part::header ? parser.is_header_done() : parser.is_done();
}

}  // namespace

std::optional<boost::beast::error_code> feed(request_parser& parser, boost::beast::flat_buffer& buffer,
                                             request_part part) {
    boost::beast::error_code ec;
    while (buffer.size() > 0 && !finished(parser, part)) {
        auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) return std::nullopt;
        if (ec) return ec;
        if (used == 0) break;
    }
    if (finished(parser, part)) return ec;
    return std::nullopt;
}

boost::beast::error_code at_eof(request_parser& parser, request_part part) {
    if (!parser.got_some()) return http::error::end_of_stream;
    boost::beast::error_code ec;
    parser.put_eof(ec);
    if (!ec && finished(parser, part)) return ec;
    return http::error::partial_message;
}

http_method method_of(const request_parser& parser) {
    switch (parser.get().method()) {
    case http::verb::get: return http_method::get;
    case http::verb::head: return http_method::head;
    case http::verb::put: return http_method::put;
    case http::verb::post: return http_method::post;
    case http::verb::delete_: return http_method::delete_;
    case http::verb::options: return http_method::options;
    default: return http_method::other;
    }
}

}  // namespace chunklog::api
