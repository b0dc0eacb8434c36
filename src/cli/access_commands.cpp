// The subcommands about who may do what (protocol sections 7, 10, 11):
// init (claims a user and its first token, or saves given ones), token
// create/list/revoke, admin user create, admin quota.
#include "cli/commands.hpp"
#include "cli/units.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <array>
#include <filesystem>

namespace chunklog::cli {
namespace json = boost::json;

namespace {

constexpr std::size_t max_label_bytes = 100;

// The label of the token `init` claims: which machine holds it.
std::string device_label() {
    std::array<char, 256> host{};
    std::string label = "chunklog init";
    if (::gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') label += " on " + std::string(host.data());
    if (label.size() > max_label_bytes) label.resize(max_label_bytes);
    return label;
}

json::value expires_json(const token_info& t) { return t.expires ? json::value(*t.expires) : json::value(nullptr); }

json::object token_json(const token_info& t) {
    json::object o{{"id", t.id},
                   {"label", t.label},
                   {"scope", scope_name(t.scope)},
                   {"created", t.created},
                   {"expires", expires_json(t)}};
    if (!t.token.empty()) o["token"] = t.token;
    return o;
}

// The user's answer when the server refuses to hand out a first token.
error registration_refused(error e, bool new_user, const std::string& user) {
    if (new_user)
        e.message = "registration is closed on this server: ask its admin to run `chunklog admin user create` and "
                    "then run `chunklog init --user ID --token TOKEN`";
    else
        e.message = "user " + user + " already has tokens, or registration is closed on this server: run `chunklog "
                    "init --user " + user + " --token TOKEN` with one of its tokens (`chunklog token create` makes "
                    "one where a token is saved; the server's admin can make one with `chunklog admin user create`)";
    return e;
}

// The admin token: --admin-token, CHUNKLOG_ADMIN_TOKEN, else the token in force.
std::optional<std::string> admin_token(context& ctx) {
    const auto& s = ctx.settings();
    if (!s.admin_token.empty()) return s.admin_token;
    if (!s.token.empty()) return s.token;
    ctx.usage_error("admin commands need the server's admin token: pass --admin-token TOKEN or set "
                    "CHUNKLOG_ADMIN_TOKEN (the server keeps it in DATA_DIR/admin-token)");
    return std::nullopt;
}

int fail_as_admin(context& ctx, error e) {
    if (e.code == errc::unauthorized || e.code == errc::forbidden)
        e.message += " (admin commands need the server's admin token: --admin-token or CHUNKLOG_ADMIN_TOKEN)";
    return ctx.fail(e, false);
}

// Prints a new token: the secret alone on stdout (for $(...)), what it is on stderr.
void print_new_token(context& ctx, const token_info& t) {
    ctx.print(token_json(t), t.token);
    if (!ctx.globals().json)
        ctx.err() << "token " << t.id << " (" << scope_name(t.scope) << ", "
                  << (t.expires ? "expires " + *t.expires : std::string("never expires"))
                  << "): shown only now, keep it secret\n";
}

}  // namespace

// Saves server, user, token and CA file. Without a token in force, claims
// the user by asking for its first token without one (open registration);
// when that is refused, saves the user alone if the server reads without a
// token (--auth none), else says how to get one. With a token, checks it
// with one request first. Keeps the saved user unless --force replaces it.
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
    const auto given = with_overrides(config{}, ctx.globals());  // the environment and the flags alone
    auto c = with_overrides(previous.value_or(config{}), ctx.globals());
    const bool new_user = c.user.empty();
    if (new_user) c.user = uuid::random().to_string();
    auto user = uuid::parse(c.user);
    if (!user) return ctx.usage_error("the user must be a canonical lowercase UUID");
    if (previous && !previous->user.empty() && previous->user != c.user && !force)
        return ctx.usage_error(config_path().string() + " already holds user " + previous->user +
                               "; --force replaces it (that user's data stays on the server, reachable only with "
                               "its id and a token)");
    if (new_user && !given.token.empty())
        return ctx.usage_error("a token belongs to one user: pass its --user ID with --token");
    if (given.token.empty() && (!previous || previous->user != c.user)) c.token.clear();  // the saved user's token
    if (!c.ca_file.empty()) c.ca_file = std::filesystem::absolute(c.ca_file).string();
    ctx.settings() = c;

    std::string token_id;
    if (!c.token.empty()) {
        auto server = ctx.connect_as(*user, c.token);
        if (!server) return exit_usage;
        if (auto checked = server->info(); !checked) {
            auto e = checked.error();
            e.message = "the token does not work for user " + c.user + ": " + e.message;
            return ctx.fail(e, e.code != errc::unauthorized);
        }
    } else {
        auto server = ctx.connect_as(*user, {});
        if (!server) return exit_usage;
        auto claimed = server->create_token(device_label(), token_scope::write);
        if (claimed) {
            c.token = claimed->token;
            token_id = claimed->id;
        } else if (auto code = claimed.error().code; code == errc::unauthorized || code == errc::forbidden) {
            // Refused: unless the server lets anyone in (--auth none), the user needs a token from elsewhere.
            if (auto open = server->info(); !open) {
                auto refused = open.error().code;
                if (refused != errc::unauthorized && refused != errc::forbidden) return ctx.fail(open.error());
                return ctx.fail(registration_refused(claimed.error(), new_user, c.user), false);
            }
        } else if (code != errc::not_found && code != errc::method_not_allowed) {
            return ctx.fail(claimed.error());
        }  // else a server without tokens (protocol 0.1): the user id alone is the key
    }
    if (auto s = save_config(c); !s) return ctx.fail(s.error());
    json::object out{{"server", c.server}, {"user", c.user}, {"config", config_path().string()}};
    if (!token_id.empty()) out["token_id"] = token_id;
    ctx.print(out, "user " + c.user + " on " + c.server + " (saved in " + config_path().string() +
                       (token_id.empty() ? "" : " with a new token") + ")");
    return exit_ok;
}

int run_token_create(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--label", takes::value}, {"--read-only"}, {"--expires-in", takes::value}}}, a))
        return *bad;
    std::optional<std::chrono::seconds> expires_in;
    if (auto text = a.value("--expires-in")) {
        expires_in = parse_duration(*text);
        if (!expires_in)
            return ctx.usage_error("--expires-in takes a duration: seconds, or a number with s, m, h or d (90, 15m, "
                                   "12h, 30d), at most 100 years");
    }
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto scope = a.has("--read-only") ? token_scope::read : token_scope::write;
    auto t = c->create_token(a.value("--label").value_or(""), scope, expires_in);
    if (!t) return ctx.fail(t.error());
    print_new_token(ctx, *t);
    return exit_ok;
}

int run_token_list(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({}, a)) return *bad;
    auto c = ctx.connect();
    if (!c) return exit_usage;
    auto tokens = c->list_tokens();
    if (!tokens) return ctx.fail(tokens.error());
    json::array all;
    std::string text;
    for (const auto& t : *tokens) {
        all.push_back(token_json(t));
        text += t.id + "  " + std::string(scope_name(t.scope)) + (t.scope == token_scope::read ? "   " : "  ") +
                "created " + t.created + "  " + (t.expires ? "expires " + *t.expires : std::string("never expires")) +
                (t.label.empty() ? "" : "  " + t.label) + "\n";
    }
    if (!text.empty()) text.pop_back();
    ctx.print({{"tokens", all}}, text);
    return exit_ok;
}

int run_token_revoke(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{}, 1, 1}, a)) return *bad;
    const auto& id = a.positional()[0];
    auto c = ctx.connect();
    if (!c) return exit_usage;
    if (auto done = c->revoke_token(id); !done) return ctx.fail(done.error());
    ctx.print({{"revoked", id}}, "revoked token " + id);
    return exit_ok;
}

int run_admin_user_create(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{{"--label", takes::value}}}, a)) return *bad;
    auto admin = admin_token(ctx);
    if (!admin) return exit_usage;
    auto user = uuid::random();
    auto c = ctx.connect_as(user, *admin);
    if (!c) return exit_usage;
    auto t = c->create_token(a.value("--label").value_or(""), token_scope::write);
    if (!t) return fail_as_admin(ctx, t.error());
    auto o = token_json(*t);
    o["user"] = user.to_string();
    o["server"] = ctx.settings().server;
    ctx.print(o, "user  " + user.to_string() + "\ntoken " + t->token);
    if (!ctx.globals().json)
        ctx.err() << "on the user's machine: chunklog --server " << ctx.settings().server << " init --user "
                  << user.to_string() << " --token " << t->token << '\n';
    return exit_ok;
}

int run_admin_quota(context& ctx) {
    arguments a;
    if (auto bad = ctx.parse({{}, 2, 2}, a)) return *bad;
    auto user = uuid::parse(a.positional()[0]);
    if (!user) return ctx.usage_error("USER must be a canonical lowercase UUID");
    std::optional<std::uint64_t> bytes;
    if (a.positional()[1] != "default") {
        bytes = parse_byte_count(a.positional()[1]);
        if (!bytes)
            return ctx.usage_error("the quota is a number of bytes (K, M, G, T: powers of 1024; 0: no limit) or "
                                   "`default`");
    }
    auto admin = admin_token(ctx);
    if (!admin) return exit_usage;
    auto c = ctx.connect_as(*user, *admin);
    if (!c) return exit_usage;
    if (auto done = c->set_quota(bytes); !done) return fail_as_admin(ctx, done.error());
    std::string what = !bytes ? "the server's default" : *bytes == 0 ? "no limit" : std::to_string(*bytes) + " bytes";
    ctx.print({{"user", user->to_string()}, {"quota_bytes", bytes ? json::value(*bytes) : json::value(nullptr)}},
              "quota of " + user->to_string() + ": " + what);
    return exit_ok;
}

}  // namespace chunklog::cli
