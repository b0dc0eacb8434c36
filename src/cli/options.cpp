#include "cli/options.hpp"

#include "cli/arguments.hpp"

namespace chunklog::cli {
namespace {

std::optional<std::string>* value_flag(global_options& out, std::string_view name) {
    if (name == "--server") return &out.server;
    if (name == "--user") return &out.user;
    if (name == "--token") return &out.token;
    if (name == "--ca-file") return &out.ca_file;
    if (name == "--admin-token") return &out.admin_token;
    if (name == "--replica") return &out.replica;
    if (name == "--encryption-secret") return &out.encryption_secret;
    return nullptr;
}

// A word that is not a global option: the command, or one of its arguments.
void add_word(global_options& out, const std::string& word) {
    if (out.command.empty() && !is_flag(word) && word != "--") out.command = word;
    else out.args.push_back(word);
}

}  // namespace

exit_code exit_code_for(errc code) noexcept {
    switch (code) {
    case errc::conflict: return exit_conflict;
    case errc::not_found:
    case errc::unknown_transaction:
    case errc::missing_chunks: return exit_not_found;
    case errc::network:
    case errc::unavailable: return exit_network;
    case errc::unauthorized: return exit_unauthorized;
    case errc::forbidden: return exit_forbidden;
    case errc::too_many_requests: return exit_too_many_requests;
    case errc::quota_exceeded:
    case errc::insufficient_storage: return exit_storage_full;
    case errc::tls_failure: return exit_tls;
    default: return exit_failure;
    }
}

std::optional<std::string> parse_global_options(const std::vector<std::string>& argv, global_options& out) {
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const auto& a = argv[i];
        if (a == "--") {  // the rest belongs to the command, as it is
            out.args.insert(out.args.end(), argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
            break;
        }
        auto equals = a.find('=');
        auto* target = is_flag(a) ? value_flag(out, a.substr(0, equals)) : nullptr;
        if (a == "--json") out.json = true;
        else if (a == "--help" || a == "-h") out.help = true;
        else if (target && equals != std::string::npos) {
            if (equals + 1 == a.size()) return a.substr(0, equals) + " needs a value";
            *target = a.substr(equals + 1);
        } else if (target) {
            if (i + 1 >= argv.size() || is_flag(argv[i + 1])) return a + " needs a value";
            *target = argv[++i];
        } else {
            add_word(out, a);
        }
    }
    return std::nullopt;
}

}  // namespace chunklog::cli
