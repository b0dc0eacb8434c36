#include "chunklogd/server_options.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <cstdlib>
#include <sstream>

namespace chunklog {
namespace po = boost::program_options;

namespace {

constexpr const char* env_prefix = "CHUNKLOG_";

// CHUNKLOG_DATA_DIR -> data-dir; other variables are ignored.
std::string env_to_option(const std::string& variable, const po::options_description& desc) {
    if (variable.rfind(env_prefix, 0) != 0) return {};
    std::string name = variable.substr(std::char_traits<char>::length(env_prefix));
    for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return desc.find_nothrow(name, false) ? name : std::string{};
}

po::options_description describe(api::server_config& c, parsed_options& out, std::string& listen, std::string& dir,
                                 bool& no_sync, bool& no_delete) {
    auto& l = c.service.limits;
    po::options_description desc("chunklogd options (each also read from CHUNKLOG_<NAME>, e.g. CHUNKLOG_DATA_DIR)");
    desc.add_options()
        ("help,h", po::bool_switch(&out.show_help), "print this help and exit")
        ("version", po::bool_switch(&out.show_version), "print the version and exit")
        ("listen", po::value(&listen)->default_value("127.0.0.1:8080"), "HOST:PORT to listen on (port 0: any free port)")
        ("data-dir", po::value(&dir)->default_value("./data"), "RocksDB directory (created if missing)")
        ("block-cache-bytes", po::value(&c.store.block_cache_bytes)->default_value(c.store.block_cache_bytes), "RocksDB read cache for table blocks and chunks")
        ("threads", po::value(&c.io_threads)->default_value(0), "I/O threads (0: one per core)")
        ("blocking-threads", po::value(&c.blocking_threads)->default_value(32), "threads that wait on synced writes")
        ("max-chunk-bytes", po::value(&l.max_chunk_bytes)->default_value(l.max_chunk_bytes), "largest chunk accepted")
        ("max-json-bytes", po::value(&l.max_json_bytes)->default_value(l.max_json_bytes), "largest JSON body accepted")
        ("max-publish-bytes", po::value(&l.max_publish_bytes)->default_value(l.max_publish_bytes), "largest publish body")
        ("max-publish-chunks", po::value(&l.max_publish_chunks)->default_value(l.max_publish_chunks), "chunks in one publish")
        ("max-publish-transactions", po::value(&l.max_publish_transactions)->default_value(l.max_publish_transactions), "transactions in one publish")
        ("max-chunks-per-transaction", po::value(&l.max_chunks_per_transaction)->default_value(l.max_chunks_per_transaction), "chunk ids in one transaction")
        ("max-list-limit", po::value(&l.max_list_limit)->default_value(l.max_list_limit), "largest transactions listing page")
        ("max-log-limit", po::value(&l.max_log_limit)->default_value(l.max_log_limit), "largest GET log page")
        ("max-log-page-bytes", po::value(&l.max_log_page_bytes)->default_value(l.max_log_page_bytes), "bytes after which a GET log page ends early")
        ("max-missing-query", po::value(&l.max_missing_query)->default_value(l.max_missing_query), "chunk ids in one chunks/missing query")
        ("max-connections", po::value(&c.max_connections)->default_value(c.max_connections), "open connections before new ones get 503")
        ("max-header-bytes", po::value(&c.max_header_bytes)->default_value(c.max_header_bytes), "largest request header (431 above)")
        ("header-timeout", po::value<unsigned>()->default_value(10), "seconds to receive a request header")
        ("idle-timeout", po::value<unsigned>()->default_value(60), "seconds a keep-alive connection may stay silent")
        ("body-timeout", po::value<unsigned>()->default_value(120), "seconds to receive a request body")
        ("write-timeout", po::value<unsigned>()->default_value(60), "seconds to send a response (or one piece of a streamed one)")
        ("shutdown-grace", po::value<unsigned>()->default_value(20), "seconds in-flight requests may take after SIGTERM")
        ("disable-delete", po::bool_switch(&no_delete), "answer DELETE /0.1/{user} with 403")
        ("unsafe-no-sync", po::bool_switch(&no_sync), "do not fsync writes (loses acknowledged writes on power loss)")
        ("log-level", po::value(&out.log_level)->default_value("info"), "debug, info, warn or error");
    return desc;
}

}  // namespace

bool split_listen_address(const std::string& text, std::string& host, std::uint16_t& port) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
    auto port_text = std::string_view(text).substr(colon + 1);
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    return ec == std::errc{} && end == port_text.data() + port_text.size() && !port_text.empty();
}

parsed_options parse_server_options(const std::vector<std::string>& args) {
    parsed_options out;
    std::string listen, dir;
    bool no_sync = false, no_delete = false;
    auto desc = describe(out.config, out, listen, dir, no_sync, no_delete);
    std::ostringstream help;
    help << "usage: chunklogd [options]\n\n" << desc;
    out.help_text = help.str();
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(args).options(desc).run(), vm);
        po::store(po::parse_environment(desc, [&](const std::string& v) { return env_to_option(v, desc); }), vm);
        po::notify(vm);
        out.config.header_timeout = std::chrono::seconds(vm["header-timeout"].as<unsigned>());
        out.config.idle_timeout = std::chrono::seconds(vm["idle-timeout"].as<unsigned>());
        out.config.body_timeout = std::chrono::seconds(vm["body-timeout"].as<unsigned>());
        out.config.write_timeout = std::chrono::seconds(vm["write-timeout"].as<unsigned>());
        out.config.shutdown_grace = std::chrono::seconds(vm["shutdown-grace"].as<unsigned>());
    } catch (const po::error& e) {
        out.error = e.what();
        return out;
    }
    if (!split_listen_address(listen, out.config.host, out.config.port))
        out.error = "--listen must be HOST:PORT, got '" + listen + "'";
    out.config.store.dir = dir;
    out.config.store.sync_writes = !no_sync;
    out.config.service.allow_delete = !no_delete;
    if (out.config.blocking_threads == 0) out.error = "--blocking-threads must be at least 1";
    return out;
}

}  // namespace chunklog
