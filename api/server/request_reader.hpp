// request_reader: the socket-free half of reading one HTTP request. feed()
// gives the parser what the connection's buffer holds; at_eof() says what a
// connection that ended means for the request; method_of() reads the verb. The session drives them
// with its asynchronous socket, the fuzz target with a byte string. Pure
// functions over values the caller owns; thread-compatible.
#pragma once

#include "api/http_types.hpp"
#include "api/server/request_body.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <optional>

namespace chunklog::api {

using request_parser = boost::beast::http::request_parser<request_body>;

enum class request_part { header, whole };

// Feeds buffered bytes to `parser` until `part` is complete. Returns the
// outcome (success or the parser's error) once there is one; nullopt when
// the parser needs more bytes than the buffer holds (read, then feed again).
std::optional<boost::beast::error_code> feed(request_parser& parser, boost::beast::flat_buffer& buffer,
                                             request_part part);

// The outcome for `part` when the peer closed the connection: end_of_stream
// before any byte of a request, partial_message inside one, success when
// the end of the connection completes a body that runs until it.
boost::beast::error_code at_eof(request_parser& parser, request_part part);

// The request's method as the router knows it (other for the rest); the
// header must be complete.
http_method method_of(const request_parser& parser);

}  // namespace chunklog::api
