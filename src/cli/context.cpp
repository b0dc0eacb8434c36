#include "cli/context.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>

namespace chunklog::cli {

context::context(global_options g, std::ostream& out, std::ostream& err)
    : globals_(std::move(g)), config_(with_overrides(config{}, globals_)), out_(out), err_(err) {}

outcome<void> context::load_settings() {
    auto c = resolve_config(globals_);
    if (!c) return c.error();
    config_ = std::move(*c);
    return {};
}

std::optional<int> context::parse(const argument_spec& spec, arguments& out) { return parse(args(), spec, out); }

std::optional<int> context::parse(const std::vector<std::string>& words, const argument_spec& spec,
                                  arguments& out) {
    if (auto bad = parse_arguments(words, spec, out)) return usage_error(*bad);
    return std::nullopt;
}

void context::consume_args(std::size_t n) {
    auto& args = globals_.args;
    args.erase(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(std::min(n, args.size())));
}

std::optional<client> context::connect() {
    auto user = uuid::parse(config_.user);
    if (!user) {
        usage_error(config_.user.empty() ? "no user: pass --user UUID, set CHUNKLOG_USER, or run `chunklog init`"
                                         : "the user must be a canonical lowercase UUID, got '" + config_.user + "'");
        return std::nullopt;
    }
    return connect_as(*user, config_.token);
}

std::optional<client> context::connect_as(const uuid& user, const std::string& token) {
    try {
        client_options o;
        o.server_url = config_.server;
        o.user = user;
        o.token = token;
        o.ca_file = config_.ca_file;
        return client(o);
    } catch (const std::invalid_argument& e) {
        usage_error(e.what());
        return std::nullopt;
    }
}

namespace {

// What to do about an error that the user, not the server, must fix.
const char* hint_for(errc code) {
    switch (code) {
    case errc::unauthorized:
        return "the server wants a valid token: pass --token TOKEN (or CHUNKLOG_TOKEN), or save one with "
               "`chunklog init --user ID --token TOKEN`";
    case errc::tls_failure:
        return "if the server's certificate comes from a private CA or is self-signed, pass that certificate with "
               "--ca-file FILE (or CHUNKLOG_CA_FILE)";
    default: return nullptr;
    }
}

}  // namespace

int context::fail(const error& e, bool with_hint) {
    if (globals_.json) {
        boost::json::object o{{"error", code_name(e.code)}, {"message", e.message}};
        if (e.head) o["head"] = e.head->to_string();
        out_ << boost::json::serialize(o) << std::endl;
    } else {
        err_ << "chunklog: " << code_name(e.code) << ": " << e.message << '\n';
        if (const char* hint = with_hint ? hint_for(e.code) : nullptr) err_ << "(" << hint << ")\n";
    }
    return exit_code_for(e.code);
}

int context::usage_error(const std::string& message) {
    if (globals_.json)
        out_ << boost::json::serialize(boost::json::object{{"error", "usage"}, {"message", message}}) << std::endl;
    else
        err_ << "chunklog: " << message << "\n(see chunklog --help)\n";
    return exit_usage;
}

void context::print(const boost::json::object& json, const std::string& text) {
    if (globals_.json) out_ << boost::json::serialize(json) << std::endl;
    else out_ << text << std::endl;
}

bool context::show_progress() const { return !globals_.json && ::isatty(STDOUT_FILENO); }

}  // namespace chunklog::cli
