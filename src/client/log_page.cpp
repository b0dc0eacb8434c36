#include "client/log_page.hpp"
#include "client/json_decode.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

namespace chunklog::detail {

outcome<log_page> log_page::parse(std::string body, const uuid& from, bool with_snapshot) {
    log_page page;
    page.body_ = std::move(body);
    page.from_ = from;
    page.with_snapshot_ = with_snapshot;
    const std::string_view text = page.body_;
    for (std::size_t at = 0; at < text.size();) {
        auto end = std::min(text.find('\n', at), text.size());
        span where{at, end - at};
        at = end + 1;
        if (where.size == 0) continue;
        if (auto added = page.add_line(text.substr(where.offset, where.size), where); !added) return added.error();
    }
    if (!page.ended_) return malformed("the log page has no end line");
    return page;
}

outcome<void> log_page::add_line(std::string_view line, span where) {
    if (ended_) return malformed("a log line after the end line");
    // A small line is parsed in this stack buffer; a chunk line is about 1.4
    // times its chunk and is dropped as soon as its id is known.
    unsigned char scratch[8192];
    boost::json::monotonic_resource memory(scratch, sizeof scratch);
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec, &memory);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr || o->size() != 1) return malformed("a log line that is not a JSON object with one field");
    if (o->contains("chunk")) return add_chunk(*o, where);
    if (o->contains("transaction")) return add_transaction(*o);
    if (o->contains("snapshot")) return add_snapshot(*o);
    if (o->contains("end")) return add_end(*o);
    return malformed("a log line of unknown kind");
}

outcome<void> log_page::add_chunk(const boost::json::object& o, span where) {
    auto chunk = object_at(o, "chunk");
    if (!chunk) return chunk.error();
    auto id_text = string_at(**chunk, "id");
    if (!id_text) return id_text.error();
    auto id = digest::parse(*id_text);
    if (!id) return malformed("a log chunk with a malformed id");
    if (auto data = string_at(**chunk, "data"); !data) return data.error();
    chunk_lines_.try_emplace(*id, where);
    return {};
}

const uuid& log_page::last() const {
    if (!transactions_.empty()) return transactions_.back().id;
    return snapshot_ ? snapshot_->transaction : from_;
}

outcome<void> log_page::add_snapshot(const boost::json::object& o) {
    if (!with_snapshot_) return malformed("a snapshot in a log page asked for without one");
    if (snapshot_ || !transactions_.empty()) return malformed("a snapshot that does not start the log page");
    auto line = object_at(o, "snapshot");
    if (!line) return line.error();
    auto position = decode_snapshot_position(**line);
    if (!position) return position.error();
    auto chunks = digests_at(**line, "chunks");
    if (!chunks) return chunks.error();
    for (const auto& id : *chunks)
        if (!chunk_lines_.contains(id))
            return malformed("the log's snapshot names chunk " + id.to_string() + " that the page did not send");
    snapshot_ = *position;
    snapshot_chunks_ = std::move(*chunks);
    return {};
}

outcome<void> log_page::add_transaction(const boost::json::object& o) {
    auto line = object_at(o, "transaction");
    if (!line) return line.error();
    auto t = decode_transaction(**line);
    if (!t) return t.error();
    const uuid& parent = last();
    std::optional<std::uint64_t> seq;  // what t's seq must be, when the page tells
    if (!transactions_.empty()) seq = transactions_.back().seq + 1;
    else if (snapshot_) seq = snapshot_->seq + 1;
    if (t->parent != parent || (seq && t->seq != *seq))
        return malformed("log transaction " + t->id.to_string() + " does not follow " + parent.to_string());
    for (const auto& id : t->chunks)
        if (!chunk_lines_.contains(id))
            return malformed("log transaction " + t->id.to_string() + " names chunk " + id.to_string() +
                             " that the page did not send");
    std::optional<uuid> origin;
    if ((*line)->contains("origin_parent")) {
        auto named = uuid_at(**line, "origin_parent");
        if (!named) return named.error();
        origin = *named;
    }
    transactions_.push_back(std::move(*t));
    origin_parents_.push_back(origin);
    return {};
}

outcome<void> log_page::add_end(const boost::json::object& o) {
    auto end = object_at(o, "end");
    if (!end) return end.error();
    auto head = uuid_at(**end, "head");
    if (!head) return head.error();
    auto last = uuid_at(**end, "last");
    if (!last) return last.error();
    auto more = bool_at(**end, "more");
    if (!more) return more.error();
    if (*last != this->last()) return malformed("the end line's `last` is not the page's last transaction");
    if (*more && transactions_.empty() && !snapshot_)
        return malformed("a log page with more to come holds no transaction");
    more_ = *more;
    ended_ = true;
    return {};
}

outcome<std::string> log_page::decode_chunk(const digest& id) const {
    auto where = chunk_lines_.find(id)->second;  // parse() made sure it is there
    auto line = parse_object(std::string_view(body_).substr(where.offset, where.size));
    if (!line) return line.error();
    auto chunk = object_at(*line, "chunk");
    if (!chunk) return chunk.error();
    auto data = string_at(**chunk, "data");
    if (!data) return data.error();
    auto bytes = base64_decode(*data);
    if (!bytes) return malformed("log chunk " + id.to_string() + " is not base64");
    if (sha256_of(*bytes) != id) return make_error(errc::hash_mismatch, "downloaded chunk does not match its id");
    return std::move(*bytes);
}

outcome<std::vector<std::string_view>> log_page::chunk_bytes(std::size_t i) { return bytes_of(transactions_[i].chunks); }

outcome<std::vector<std::string_view>> log_page::snapshot_bytes() { return bytes_of(snapshot_chunks_); }

outcome<std::vector<std::string_view>> log_page::bytes_of(const std::vector<digest>& ids) {
    decoded_.clear();
    std::unordered_map<digest, std::size_t, id_hash> index;  // a chunk may repeat in one transaction
    for (const auto& id : ids) {
        if (index.contains(id)) continue;
        auto bytes = decode_chunk(id);
        if (!bytes) return bytes.error();
        index.emplace(id, decoded_.size());
        decoded_.push_back(std::move(*bytes));
    }
    std::vector<std::string_view> views;
    views.reserve(ids.size());
    for (const auto& id : ids) views.emplace_back(decoded_[index.find(id)->second]);
    return views;
}

}  // namespace chunklog::detail
