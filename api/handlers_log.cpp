// GET /0.1/{user}/log: committed transactions with their chunks as NDJSON,
// streamed piece by piece from one storage snapshot (protocol section 3).
#include "api/error_response.hpp"
#include "api/handlers.hpp"
#include "api/json_codec.hpp"

#include <chunklog/base64.hpp>

#include <boost/json.hpp>

#include <memory>
#include <unordered_set>

namespace chunklog::api {
namespace {

constexpr std::size_t default_log_limit = 100;
// Distinct chunk ids remembered per page ("each chunk once per response");
// past this the page ends early with more: true.
constexpr std::size_t max_remembered_chunks = 100'000;

void append_line(std::string& out, const boost::json::object& line) {
    out += boost::json::serialize(line);
    out += '\n';
}

// The per-transaction lines are written directly, as boost::json would
// serialize them: every value is hex, a UUID, base64 or a number, so nothing
// needs escaping, and a page of thousands of lines builds no JSON trees.
void append_chunk_line(std::string& out, const digest& id, std::string_view bytes) {
    out += R"({"chunk":{"id":")";
    out += id.to_string();
    out += R"(","data":")";
    out += base64_encode(bytes);
    out += "\"}}\n";
}

void append_transaction_line(std::string& out, const transaction_record& t, const std::optional<uuid>& origin) {
    out += R"({"transaction":{"id":")";
    out += t.id.to_string();
    out += R"(","parent":")";
    out += t.parent.to_string();
    if (origin) {  // the first version's origin parent (protocol section 12)
        out += R"(","origin_parent":")";
        out += origin->to_string();
    }
    out += R"(","seq":)";
    out += std::to_string(t.seq);
    out += R"(,"chunks":[)";
    for (std::size_t i = 0; i < t.chunks.size(); ++i) {
        out += i == 0 ? "\"" : ",\"";
        out += t.chunks[i].to_string();
        out += '"';
    }
    out += "]}}\n";
}

void append_snapshot_line(std::string& out, const storage::snapshot_record& s) {
    out += R"({"snapshot":{"transaction":")";
    out += s.transaction.to_string();
    out += R"(","seq":)";
    out += std::to_string(s.seq);
    out += R"(,"chunks":[)";
    for (std::size_t i = 0; i < s.chunks.size(); ++i) {
        out += i == 0 ? "\"" : ",\"";
        out += s.chunks[i].to_string();
        out += '"';
    }
    out += "]}}\n";
}

// Produces the page one line at a time, so memory stays bounded by the
// largest chunk whatever the page size.
class log_stream {
public:
    log_stream(storage::log_cursor cursor, const uuid& from, std::size_t limit, std::size_t max_bytes, bool with_data)
        : cursor_(std::move(cursor)), last_(from), limit_(limit), max_bytes_(max_bytes), with_data_(with_data),
          snapshot_pending_(cursor_.snapshot() != nullptr) {}

    // Appends the next line to `out`. Without may_block, chunk bytes come
    // from memory only, and a chunk on disk ends the call with `blocked`.
    stream_step next(std::string& out, bool may_block) {
        auto before = out.size();
        while (out.size() == before) {
            if (ended_) return stream_step::done;
            if (snapshot_pending_) {
                if (auto step = next_line_of_snapshot(out, may_block); step != stream_step::more) return step;
                continue;
            }
            if (current_) {
                if (auto step = next_line_of_current(out, may_block); step != stream_step::more) return step;
                continue;
            }
            if (sent_transactions_ < limit_ && (sent_transactions_ == 0 || room_for_more())) {
                auto t = cursor_.next();
                if (!t) return stream_step::failed;
                if (*t) {
                    auto origin = cursor_.origin_parent(**t);
                    if (!origin) return stream_step::failed;
                    current_ = std::move(**t);
                    current_origin_ = *origin;
                    chunk_index_ = 0;
                    continue;
                }
            }
            end_page(out);
        }
        return stream_step::more;
    }

private:
    // A chunk line not yet sent, or the transaction line once its chunks are out.
    stream_step next_line_of_current(std::string& out, bool may_block) {
        for (; chunk_index_ < current_->chunks.size(); ++chunk_index_) {
            const auto& id = current_->chunks[chunk_index_];
            if (!with_data_ || sent_.contains(id)) continue;
            auto bytes = may_block ? cursor_.chunk(id) : cursor_.cached_chunk(id);
            if (!bytes) return stream_step::failed;
            if (!*bytes) return may_block ? stream_step::failed : stream_step::blocked;
            sent_.insert(id);
            ++chunk_index_;
            auto before = out.size();
            append_chunk_line(out, id, **bytes);
            sent_bytes_ += out.size() - before;
            return stream_step::more;
        }
        auto before = out.size();
        append_transaction_line(out, *current_, current_origin_);
        sent_bytes_ += out.size() - before;
        last_ = current_->id;
        ++sent_transactions_;
        current_.reset();
        return stream_step::more;
    }

    // The snapshot's chunks not yet sent, then its line (section 8: it
    // does not count toward the limit, and becomes `last`).
    stream_step next_line_of_snapshot(std::string& out, bool may_block) {
        const auto& snapshot = *cursor_.snapshot();
        for (; chunk_index_ < snapshot.chunks.size(); ++chunk_index_) {
            const auto& id = snapshot.chunks[chunk_index_];
            if (!with_data_ || sent_.contains(id)) continue;
            auto bytes = may_block ? cursor_.chunk(id) : cursor_.cached_chunk(id);
            if (!bytes) return stream_step::failed;
            if (!*bytes) return may_block ? stream_step::failed : stream_step::blocked;
            sent_.insert(id);
            ++chunk_index_;
            auto before = out.size();
            append_chunk_line(out, id, **bytes);
            sent_bytes_ += out.size() - before;
            return stream_step::more;
        }
        auto before = out.size();
        append_snapshot_line(out, snapshot);
        sent_bytes_ += out.size() - before;
        last_ = snapshot.transaction;
        chunk_index_ = 0;
        snapshot_pending_ = false;
        return stream_step::more;
    }

    // Whether another transaction may start: a page ends early to bound the
    // memory of both sides (the ids remembered here, the bytes a client holds).
    bool room_for_more() const { return sent_.size() < max_remembered_chunks && sent_bytes_ < max_bytes_; }

    void end_page(std::string& out) {
        bool more = cursor_.position() < cursor_.head().seq;
        append_line(out, {{"end", {{"head", cursor_.head().head.to_string()}, {"last", last_.to_string()}, {"more", more}}}});
        ended_ = true;
    }

    storage::log_cursor cursor_;
    uuid last_;
    std::size_t limit_;
    std::size_t max_bytes_;
    bool with_data_;
    std::size_t sent_bytes_ = 0;
    std::unordered_set<digest, id_hash> sent_;
    std::optional<transaction_record> current_;
    std::optional<uuid> current_origin_;
    std::size_t chunk_index_ = 0;
    std::size_t sent_transactions_ = 0;
    bool ended_ = false;
    bool snapshot_pending_ = false;
};

outcome<bool> parse_flag(std::optional<std::string_view> text, bool fallback, std::string_view name) {
    if (!text) return fallback;
    if (*text == "1") return true;
    if (*text == "0") return false;
    return make_error(errc::bad_request, "`" + std::string(name) + "` must be 0 or 1");
}

}  // namespace

response handle_log(handler_context& ctx, const uuid& user, const route_match& m) {
    auto from = parse_from(m.param("from"));
    if (!from) return error_response(from.error());
    auto limit = parse_limit(m.param("limit"), default_log_limit, ctx.options.limits.max_log_limit);
    if (!limit) return error_response(limit.error());
    auto with_data = parse_flag(m.param("chunks"), true, "chunks");
    if (!with_data) return error_response(with_data.error());
    auto with_snapshot = parse_flag(m.param("snapshot"), false, "snapshot");
    if (!with_snapshot) return error_response(with_snapshot.error());
    auto cursor = ctx.store.open_log(user, *from, *with_snapshot);
    if (!cursor) return store_error(ctx, user, cursor.error());

    auto stream = std::make_shared<log_stream>(std::move(*cursor), *from, *limit, ctx.options.limits.max_log_page_bytes,
                                               *with_data);
    response r;
    r.content_type = "application/x-ndjson";
    r.stream = [stream](std::string& out, bool may_block) { return stream->next(out, may_block); };
    return r;
}

}  // namespace chunklog::api
