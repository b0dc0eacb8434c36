// The chunklog subcommands: init, info, head, push, pull, log, cat, watch.
#include "cli/commands.hpp"

#include <chunklog/sha256.hpp>

#include <boost/json.hpp>

#include <charconv>
#include <fstream>
#include <sstream>

namespace chunklog::cli {
namespace json = boost::json;

namespace {

constexpr unsigned max_push_attempts = 20;

std::optional<unsigned> parse_count(const std::string& text) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return v;
}

json::object head_json(const head_state& h) { return {{"head", h.head.to_string()}, {"seq", h.seq}}; }
std::string head_text(const head_state& h) { return h.head.to_string() + " " + std::to_string(h.seq); }

void progress(context& ctx, const char* what, std::uint64_t n) {
    if (ctx.show_progress()) ctx.err() << '\r' << what << ' ' << n << std::flush;
}
void end_progress(context& ctx) {
    if (ctx.show_progress()) ctx.err() << '\n';
}

// Writes the configuration; keeps the saved user unless --force replaces it.
int run_init(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--force", takes::nothing}}}, a)) return *bad;
    const bool force = a.has("--force");
    auto saved = load_config();
    if (!saved && !force) {
        auto e = saved.error();
        e.message += " (fix it, or replace it with `chunklog init --force`)";
        return ctx.fail(e);
    }
    auto previous = saved ? *saved : std::nullopt;
    auto c = with_overrides(previous.value_or(config{}), ctx.globals());
    if (c.user.empty()) c.user = uuid::random().to_string();
    if (!uuid::parse(c.user)) return ctx.usage_error("the user must be a canonical lowercase UUID");
    if (previous && !previous->user.empty() && previous->user != c.user && !force)
        return ctx.usage_error(config_path().string() + " already holds user " + previous->user +
                               "; --force replaces it (that user's data stays on the server, reachable only with "
                               "its id)");
    if (auto s = save_config(c); !s) return ctx.fail(s.error());
    ctx.print({{"server", c.server}, {"user", c.user}, {"config", config_path().string()}},
              "user " + c.user + " on " + c.server + " (saved in " + config_path().string() + ")");
    return exit_ok;
}

int run_info(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({}, a)) return *bad;
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto s = c->info();
    if (!s) return ctx.fail(s.error());
    ctx.print({{"user", c->options().user.to_string()}, {"server", c->options().server_url},
               {"head", s->head.head.to_string()}, {"seq", s->head.seq}, {"transactions", s->transactions},
               {"chunks", s->chunks}, {"bytes", s->bytes}},
              "user          " + c->options().user.to_string() + "\nserver        " + c->options().server_url +
                  "\nhead          " + head_text(s->head) + "\ntransactions  " + std::to_string(s->transactions) +
                  "\nchunks        " + std::to_string(s->chunks) + " (" + std::to_string(s->bytes) + " bytes)");
    return exit_ok;
}

int run_head(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--wait", takes::optional_value}}}, a)) return *bad;
    std::optional<unsigned> seconds;
    if (a.has("--wait")) {
        seconds = parse_count(a.value("--wait").value_or("60"));
        if (!seconds || *seconds < 1 || *seconds > 60) return ctx.usage_error("--wait takes 1 to 60 seconds");
    }
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto h = c->head();
    if (!h) return ctx.fail(h.error());
    if (seconds) {
        h = c->wait_head(h->head, std::chrono::seconds(*seconds));
        if (!h) return ctx.fail(h.error());
    }
    ctx.print(head_json(*h), head_text(*h));
    return exit_ok;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

int run_push(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{}, 1, any_number}, a)) return *bad;
    publish_batch batch;
    transaction_record t{uuid::random(), root_id, 0, {}};
    for (const auto& path : a.positional()) {
        auto bytes = read_file(path);
        if (!bytes) return ctx.usage_error("cannot read " + path);
        t.chunks.push_back(sha256_of(*bytes));
        batch.chunks.push_back(std::move(*bytes));
    }
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto h = c->head();
    if (!h) return ctx.fail(h.error());
    t.parent = h->head;
    for (unsigned attempt = 1;; ++attempt) {
        batch.transactions = {t};
        batch.head = t.id;
        auto published = c->publish(batch);
        if (published) {
            ctx.print({{"transaction", t.id.to_string()}, {"head", published->head.to_string()},
                       {"seq", published->seq}, {"chunks", t.chunks.size()}, {"attempts", attempt}},
                      t.id.to_string());
            return exit_ok;
        }
        if (published.error().code != errc::conflict || attempt >= max_push_attempts || !published.error().head)
            return ctx.fail(published.error());
        t.id = uuid::random();  // the old id may exist on a dead branch
        t.parent = *published.error().head;
    }
}

int run_pull(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--from", takes::value}, {"--out", takes::value}}}, a)) return *bad;
    auto from = uuid::parse(a.value("--from").value_or(root_id.to_string()));
    if (!from) return ctx.usage_error("--from must be a transaction id");
    auto out_dir = a.value("--out");
    if (out_dir) std::filesystem::create_directories(*out_dir);  // throws on failure: main reports it
    auto c = ctx.connect();
    if (!c) return exit_usage;
    std::uint64_t count = 0, chunks = 0;
    auto last = c->pull(*from, [&](const pulled_transaction& t) -> outcome<void> {
        if (out_dir)
            for (std::size_t i = 0; i < t.chunks.size(); ++i) {
                std::ofstream f(std::filesystem::path(*out_dir) / t.record.chunks[i].to_string(), std::ios::binary);
                f.write(t.chunks[i].data(), static_cast<std::streamsize>(t.chunks[i].size()));
                if (!f) return make_error(errc::internal, "cannot write into " + *out_dir);
                ++chunks;
            }
        progress(ctx, "pulled", ++count);
        return {};
    });
    end_progress(ctx);
    if (!last) return ctx.fail(last.error());
    ctx.print({{"last", last->to_string()}, {"transactions", count}, {"chunks_written", chunks}}, last->to_string());
    return exit_ok;
}

int run_log(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({}, a)) return *bad;
    auto c = ctx.connect();
    if (!c) return exit_usage;
    json::array all;
    std::string text;
    auto last = c->pull(root_id, [&](const pulled_transaction& t) -> outcome<void> {
        json::array chunk_ids;
        for (const auto& id : t.record.chunks) chunk_ids.emplace_back(id.to_string());
        all.push_back(json::object{{"id", t.record.id.to_string()}, {"parent", t.record.parent.to_string()},
                                   {"seq", t.record.seq}, {"chunks", chunk_ids}});
        text += std::to_string(t.record.seq) + " " + t.record.id.to_string() + " " +
                std::to_string(t.record.chunks.size()) + " chunks\n";
        return {};
    });
    if (!last) return ctx.fail(last.error());
    if (!text.empty()) text.pop_back();
    ctx.print({{"transactions", all}}, text);
    return exit_ok;
}

int run_cat(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{}, 1, 1}, a)) return *bad;
    auto id = digest::parse(a.positional()[0]);
    if (!id) return ctx.usage_error("a chunk id is 64 lowercase hex characters");
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto bytes = c->get_chunk(*id);
    if (!bytes) return ctx.fail(bytes.error());
    ctx.out().write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    ctx.out().flush();
    return exit_ok;
}

// The HEAD to watch from: `from`, else the current one.
outcome<uuid> watch_start(client& c, const std::optional<uuid>& from) {
    if (from) return *from;
    auto h = c.head();
    if (!h) return h.error();
    return h->head;
}

int run_watch(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--count", takes::value}, {"--from", takes::value}}}, a)) return *bad;
    std::optional<unsigned> limit;
    if (auto n = a.value("--count")) {
        limit = parse_count(*n);
        if (!limit) return ctx.usage_error("--count takes a number");
    }
    std::optional<uuid> from;
    if (auto text = a.value("--from")) {
        from = uuid::parse(*text);
        if (!from) return ctx.usage_error("--from must be a transaction id");
    }
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto known = watch_start(*c, from);
    if (!known) return ctx.fail(known.error());
    for (unsigned seen = 0; !limit || seen < *limit;) {
        auto next = c->wait_head(*known, std::chrono::seconds(60));
        if (!next) return ctx.fail(next.error());
        if (next->head == *known) continue;
        known = next->head;
        ctx.print(head_json(*next), head_text(*next));
        ++seen;
    }
    return exit_ok;
}

}  // namespace

const std::vector<command>& commands() {
    static const std::vector<command> table{
        {"init", "init [--force]",
         "save --server and --user (a new random user if none) in the config file; --force: replace a config "
         "that holds another user, or a malformed one",
         run_init, false},
        {"info", "info", "show the user's HEAD and what is stored", run_info},
        {"head", "head [--wait [SECONDS]]", "print HEAD and its seq; --wait: the next HEAD instead", run_head},
        {"push", "push FILE...", "publish the files as one transaction and advance HEAD (retried on conflict)",
         run_push},
        {"pull", "pull [--from ID] [--out DIR]",
         "fetch every transaction after ID; write chunks into DIR; print the last id", run_pull},
        {"log", "log", "list the committed transactions", run_log},
        {"cat", "cat CHUNK", "write a chunk's bytes to stdout", run_cat},
        {"watch", "watch [--count N] [--from ID]",
         "print each new HEAD as it happens (long poll); --from: each HEAD after ID instead of after the current one",
         run_watch},
        {"task", "task COMMAND ...", "offline-first task list synced through the server (chunklog task --help)",
         run_task},
    };
    return table;
}

std::string general_help() {
    std::string text =
        "usage: chunklog [--server URL] [--user UUID] [--replica DIR] [--json] COMMAND [ARGS]\n\n"
        "Global options may also follow the command. Defaults come from CHUNKLOG_SERVER,\n"
        "CHUNKLOG_USER, then " + config_path().string() + " (written by `chunklog init`).\n\ncommands:\n";
    for (const auto& c : commands()) text += "  " + std::string(c.usage) + "\n      " + c.summary + "\n";
    text += "\nexit codes: 0 ok, 1 failure, 2 usage error, 3 conflict, 4 not found, 5 network failure\n";
    return text;
}

}  // namespace chunklog::cli
