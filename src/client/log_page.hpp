// log_page: one page of GET log (NDJSON) for chunklog::client::pull.
//
// parse() checks the whole page before any of it is used: every line, the
// parent chain of the transactions, that every chunk a transaction (or the
// snapshot) names was sent before it, and the end line. A page asked for
// with snapshot=1 may start with the user's snapshot (its chunk lines, then
// its line), and the transactions then follow the snapshot's. The page keeps the response body and
// only the positions of the chunk lines in it; chunk_bytes() base64-decodes
// and verifies the chunks of one transaction at a time, so memory is the
// body plus one transaction's decoded chunks. Single owner; not thread-safe.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/records.hpp>

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chunklog::detail {

class log_page {
public:
    // Checks `body`, a page of GET log asked for from `from`, with
    // snapshot=1 when `with_snapshot`. Any shape the protocol does not allow
    // is errc::internal.
    static outcome<log_page> parse(std::string body, const uuid& from, bool with_snapshot = false);

    // The snapshot the page starts with, if any, and its chunk ids.
    const std::optional<snapshot_position>& snapshot() const { return snapshot_; }
    const std::vector<transaction_record>& transactions() const { return transactions_; }
    // The origin parent of transaction i, when its line names one.
    const std::optional<uuid>& origin_parent(std::size_t i) const { return origin_parents_[i]; }
    bool more() const { return more_; }

    // The bytes of transactions()[i]'s chunks in record order, each checked
    // against its id (errc::hash_mismatch). Valid until the next call.
    outcome<std::vector<std::string_view>> chunk_bytes(std::size_t i);
    // The same for the snapshot's chunks.
    outcome<std::vector<std::string_view>> snapshot_bytes();

private:
    struct span {
        std::size_t offset = 0;
        std::size_t size = 0;
    };

    outcome<void> add_line(std::string_view line, span where);
    outcome<void> add_chunk(const boost::json::object& o, span where);
    outcome<void> add_snapshot(const boost::json::object& o);
    outcome<void> add_transaction(const boost::json::object& o);
    outcome<void> add_end(const boost::json::object& o);
    outcome<std::string> decode_chunk(const digest& id) const;
    outcome<std::vector<std::string_view>> bytes_of(const std::vector<digest>& ids);
    // The transaction the page's next transaction must follow.
    const uuid& last() const;

    std::string body_;
    uuid from_;
    bool with_snapshot_ = false;
    std::optional<snapshot_position> snapshot_;
    std::vector<digest> snapshot_chunks_;
    std::unordered_map<digest, span, id_hash> chunk_lines_;  // where each chunk's line is in body_
    std::vector<transaction_record> transactions_;
    std::vector<std::optional<uuid>> origin_parents_;  // one per transaction
    std::vector<std::string> decoded_;  // the chunks of the transaction last asked for
    bool more_ = false;
    bool ended_ = false;
};

}  // namespace chunklog::detail
