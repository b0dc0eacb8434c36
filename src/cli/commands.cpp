// The chunklog subcommands: info, head, push, pull, log, cat, watch; the
// table of every subcommand and the general help.
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
         "save --server, --user, --token and --ca-file in the config file; without a token, claim a new user "
         "(or --user) where the server's registration is open; with one, check it first. --force: replace a "
         "config that holds another user, or a malformed one",
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
        {"token create", "token create [--label TEXT] [--read-only] [--expires-in DURATION]",
         "a new token of the user (DURATION: 90, 15m, 12h, 30d); prints it, shown only this once",
         run_token_create},
        {"token list", "token list", "the user's tokens (never their secrets)", run_token_list},
        {"token revoke", "token revoke ID", "refuse the token ID from now on (a token may revoke itself)",
         run_token_revoke},
        {"admin user create", "admin user create [--label TEXT]",
         "a new random user and its first token, printed (with the admin token)", run_admin_user_create},
        {"admin quota", "admin quota USER BYTES|default",
         "set a user's quota of stored bytes (K, M, G, T: powers of 1024; 0: no limit; default: the server's); "
         "with the admin token",
         run_admin_quota},
    };
    return table;
}

std::string general_help() {
    std::string text =
        "usage: chunklog [--server URL] [--user UUID] [--token TOKEN] [--ca-file FILE] [--admin-token TOKEN]\n"
        "                [--replica DIR] [--json] COMMAND [ARGS]\n\n"
        "Global options may also follow the command. Defaults come from CHUNKLOG_SERVER,\n"
        "CHUNKLOG_USER, CHUNKLOG_TOKEN, CHUNKLOG_CA_FILE, CHUNKLOG_ADMIN_TOKEN, then\n" +
        config_path().string() + " (written by `chunklog init`, readable by you only).\n"
        "URL is http://HOST:PORT or https://HOST:PORT; over https the server's certificate must\n"
        "verify against the system's CAs or --ca-file. A token on the command line is visible\n"
        "to other local users: prefer CHUNKLOG_TOKEN or the config file.\n\ncommands:\n";
    for (const auto& c : commands()) text += "  " + std::string(c.usage) + "\n      " + c.summary + "\n";
    text += "\nexit codes:\n"
            "  0 ok                     6 unauthorized: no token, or an unknown, expired or revoked one\n"
            "  1 failure                7 forbidden: the token may not do this (another user's, read-only)\n"
            "  2 usage error            8 too many requests, still after waiting as the server asked\n"
            "  3 conflict               9 storage full: the user's quota or the server's disk\n"
            "  4 not found             10 TLS: the server's certificate did not verify\n"
            "  5 network failure\n";
    return text;
}

}  // namespace chunklog::cli
