#include "cli/options.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace chunklog::cli {

std::optional<std::string> parse_global_options(const std::vector<std::string>& argv, global_options& out) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const auto& a = argv[i];
        if (a == "--json") out.json = true;
        else if (a == "--help" || a == "-h") out.help = true;
        else if (a == "--server" || a == "--user" || a == "--replica") {
            if (i + 1 >= argv.size()) return a + " needs a value";
            (a == "--server" ? out.server : a == "--user" ? out.user : out.replica) = argv[++i];
        } else if (a.rfind("--server=", 0) == 0) out.server = a.substr(9);
        else if (a.rfind("--replica=", 0) == 0) out.replica = a.substr(10);
        else if (a.rfind("--user=", 0) == 0) out.user = a.substr(7);
        else if (out.command.empty() && a.rfind("-", 0) != 0) out.command = a;
        else out.args.push_back(a);
    }
    return std::nullopt;
}

std::filesystem::path config_path() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "chunklog" / "config.json";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home ? home : ".") / ".config" / "chunklog" / "config.json";
}

config load_config() {
    config c;
    std::ifstream in(config_path());
    if (!in) return c;
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto v = boost::json::parse(text.str(), ec);
    if (ec || !v.is_object()) return c;
    const auto& o = v.as_object();
    if (auto it = o.find("server"); it != o.end() && it->value().is_string()) c.server = it->value().get_string();
    if (auto it = o.find("user"); it != o.end() && it->value().is_string()) c.user = it->value().get_string();
    return c;
}

void save_config(const config& c) {
    auto path = config_path();
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::trunc);
    out << boost::json::serialize(boost::json::object{{"server", c.server}, {"user", c.user}}) << '\n';
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

config resolve_config(const global_options& g) {
    auto c = load_config();
    if (const char* s = std::getenv("CHUNKLOG_SERVER"); s && *s) c.server = s;
    if (const char* u = std::getenv("CHUNKLOG_USER"); u && *u) c.user = u;
    if (g.server) c.server = *g.server;
    if (g.user) c.user = *g.user;
    if (g.replica) c.replica = *g.replica;
    return c;
}

}  // namespace chunklog::cli
