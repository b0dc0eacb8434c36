// request_body: a Beast Body type that collects a request body into a string
// and, when asked, hashes it with SHA-256 as it streams in, so a chunk is
// verified without a second pass. Used only by the HTTP session; one value
// per request, not shared between threads.
#pragma once

#include <chunklog/sha256.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <optional>
#include <string>

namespace chunklog::api {

struct request_body {
    struct value_type {
        std::string data;
        bool hash = false;                    // set before the body is read
        std::optional<sha256_hasher> hasher;  // present once reading began, when hash is set
    };

    static std::uint64_t size(const value_type& v) { return v.data.size(); }

    class reader {
    public:
        template <bool is_request, class Fields>
        reader(boost::beast::http::header<is_request, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>& length, boost::system::error_code& ec) {
            ec = {};
            // The session refused any Content-Length over the body limit already.
            if (length) body_.data.reserve(static_cast<std::size_t>(*length));
            if (body_.hash) body_.hasher.emplace();
        }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
            ec = {};
            std::size_t total = 0;
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
                 ++it) {
                boost::asio::const_buffer b = *it;
                body_.data.append(static_cast<const char*>(b.data()), b.size());
                if (body_.hasher) body_.hasher->update(b.data(), b.size());
                total += b.size();
            }
            return total;
        }

        void finish(boost::system::error_code& ec) { ec = {}; }

    private:
        value_type& body_;
    };
};

}  // namespace chunklog::api
