#include "cli/config.hpp"

#include "cli/durable_file.hpp"

#include <chunklog/ids.hpp>

#include <boost/json.hpp>

#include <cstdlib>

namespace chunklog::cli {
namespace {

constexpr std::size_t max_config_bytes = 64 * 1024;

error malformed(const std::string& why) {
    return make_error(errc::internal, "malformed config " + config_path().string() + ": " + why);
}

// A string field of the config; nullopt when absent.
outcome<std::optional<std::string>> text_at(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return std::optional<std::string>{};
    if (!v->is_string() || v->get_string().empty()) return malformed("`" + std::string(key) + "` is not a string");
    return std::optional<std::string>{std::string(v->get_string())};
}

// {"server": URL, "user": UUID, "token": TEXT, "ca_file": PATH}; each
// optional, other keys ignored.
outcome<config> parse_config(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec) return malformed("not valid JSON (" + ec.message() + ")");
    const auto* o = v.if_object();
    if (o == nullptr) return malformed("not a JSON object");
    config c;
    if (const auto* server = o->if_contains("server")) {
        if (!server->is_string() || server->get_string().empty()) return malformed("`server` is not a URL");
        c.server = server->get_string();
    }
    if (const auto* user = o->if_contains("user")) {
        if (!user->is_string() || !uuid::parse(user->get_string()))
            return malformed("`user` is not a canonical lowercase UUID");
        c.user = user->get_string();
    }
    for (auto [key, out] : {std::pair{"token", &c.token}, {"ca_file", &c.ca_file}}) {
        auto value = text_at(*o, key);
        if (!value) return value.error();
        if (*value) *out = std::move(**value);
    }
    return c;
}

}  // namespace

std::filesystem::path config_path() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "chunklog" / "config.json";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home ? home : ".") / ".config" / "chunklog" / "config.json";
}

outcome<std::optional<config>> load_config() {
    auto text = read_small_file(config_path(), max_config_bytes);
    if (!text) return text.error();
    if (!*text) return std::optional<config>{};
    auto c = parse_config(**text);
    if (!c) return c.error();
    return std::optional<config>{std::move(*c)};
}

outcome<void> save_config(const config& c) {
    boost::json::object o{{"server", c.server}, {"user", c.user}};
    if (!c.token.empty()) o["token"] = c.token;
    if (!c.ca_file.empty()) o["ca_file"] = c.ca_file;
    return replace_file(config_path(), boost::json::serialize(o) + "\n", 0600);
}

config with_overrides(config c, const global_options& g) {
    if (const char* s = std::getenv("CHUNKLOG_SERVER"); s && *s) c.server = s;
    if (const char* u = std::getenv("CHUNKLOG_USER"); u && *u) c.user = u;
    if (const char* t = std::getenv("CHUNKLOG_TOKEN"); t && *t) c.token = t;
    if (const char* f = std::getenv("CHUNKLOG_CA_FILE"); f && *f) c.ca_file = f;
    if (const char* a = std::getenv("CHUNKLOG_ADMIN_TOKEN"); a && *a) c.admin_token = a;
    if (g.server) c.server = *g.server;
    if (g.user) c.user = *g.user;
    if (g.token) c.token = *g.token;
    if (g.ca_file) c.ca_file = *g.ca_file;
    if (g.admin_token) c.admin_token = *g.admin_token;
    if (g.replica) c.replica = *g.replica;
    return c;
}

outcome<config> resolve_config(const global_options& g) {
    auto saved = load_config();
    if (!saved) return saved.error();
    return with_overrides(saved->value_or(config{}), g);
}

}  // namespace chunklog::cli
