// log_page: one page of GET log (NDJSON) for chunklog::client::pull.
//
// parse() checks the whole page before any of it is used: every line, the
// parent chain of the transactions, that every chunk a transaction names
// was sent before it, and the end line. The page keeps the response body and
// only the positions of the chunk lines in it; chunk_bytes() base64-decodes
// and verifies the chunks of one transaction at a time, so memory is the
// body plus one transaction's decoded chunks. Single owner; not thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/records.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chunklog::detail {

class log_page {
public:
    // Checks `body`, a page of GET log asked for from `from`. Any shape the
    // protocol does not allow is errc::internal.
    static outcome<log_page> parse(std::string body, const uuid& from);

    const std::vector<transaction_record>& transactions() const { return transactions_; }
    bool more() const { return more_; }

    // The bytes of transactions()[i]'s chunks in record order, each checked
    // against its id (errc::hash_mismatch). Valid until the next call.
    outcome<std::vector<std::string_view>> chunk_bytes(std::size_t i);

private:
    struct span {
        std::size_t offset = 0;
        std::size_t size = 0;
    };

    outcome<void> add_line(std::string_view line, span where);
    outcome<void> add_chunk(const boost::json::object& o, span where);
    outcome<void> add_transaction(const boost::json::object& o);
    outcome<void> add_end(const boost::json::object& o);
    outcome<std::string> decode_chunk(const digest& id) const;

    std::string body_;
    uuid from_;
    std::unordered_map<digest, span, id_hash> chunk_lines_;  // where each chunk's line is in body_
    std::vector<transaction_record> transactions_;
    std::vector<std::string> decoded_;  // the chunks of the transaction last asked for
    bool more_ = false;
    bool ended_ = false;
};

}  // namespace chunklog::detail
