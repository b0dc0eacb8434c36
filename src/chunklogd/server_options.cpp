#include "chunklogd/server_options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>
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

// Text options that need checking after parsing.
struct raw_options {
    std::string listen, dir, store, auth, registration, token_cache_ttl;
    std::string gc_grace, gc_interval, history_retention, snapshot_age;
    unsigned gc_duty = 25;
    bool no_sync = false, no_delete = false;
};

po::options_description describe(api::server_config& c, parsed_options& out, raw_options& raw) {
    auto& a = c.service.access;
    auto& l = c.service.limits;
    po::options_description desc("chunklogd options (each also read from CHUNKLOG_<NAME>, e.g. CHUNKLOG_DATA_DIR)");
    desc.add_options()
        ("help,h", po::bool_switch(&out.show_help), "print this help and exit")
        ("version", po::bool_switch(&out.show_version), "print the version and exit")
        ("listen", po::value(&raw.listen)->default_value("127.0.0.1:8080"), "HOST:PORT to listen on (port 0: any free port)")
        ("data-dir", po::value(&raw.dir)->default_value("./data"), "RocksDB directory (created if missing); with --store postgresql, where the admin token file is made")
        ("store", po::value(&raw.store), "rocksdb:DIR (the default: rocksdb:DATA_DIR) or a PostgreSQL connection URI postgresql://HOST/DB (or postgresql:KEY=VALUE ... , libpq's form); the password comes from libpq's sources (PGPASSWORD, ~/.pgpass), never put it here")
        ("db-pool-size", po::value(&c.store.pool_size)->default_value(c.store.pool_size), "PostgreSQL connections this node opens at most")
        ("block-cache-bytes", po::value(&c.store.block_cache_bytes)->default_value(c.store.block_cache_bytes), "RocksDB read cache for table blocks and chunks")
        ("chunk-file-bytes", po::value(&c.store.chunk_file_bytes)->default_value(c.store.chunk_file_bytes), "RocksDB: a chunk PUT of at least this many bytes is written once, to a file of its own (0: never)")
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
        ("auth", po::value(&raw.auth)->default_value("token"), "token: every user request needs a bearer token; none: knowing a user id is enough (development only)")
        ("registration", po::value(&raw.registration)->default_value("closed"), "open: anyone may claim a user id that has no token yet; closed: the admin creates users")
        ("admin-token-file", po::value(&c.admin_token_file), "file whose first line is the admin token (default: DATA_DIR/admin-token, created on first start)")
        ("auth-failure-limit", po::value(&a.auth_failure_limit)->default_value(a.auth_failure_limit), "failed authentications per address and minute before 429")
        ("token-cache-ttl", po::value(&raw.token_cache_ttl)->default_value("30s"), "how long a verified token is trusted before it is read again (revocations through this server apply at once)")
        ("tls-cert", po::value(&c.tls_cert_file), "PEM certificate (chain) file: with --tls-key, the listener speaks HTTPS only (TLS 1.2 and 1.3); SIGHUP reads both files again")
        ("tls-key", po::value(&c.tls_key_file), "PEM private key file of --tls-cert (not encrypted)")
        ("cors-origin", po::value(&a.cors_origins)->composing(), "an origin whose web pages may call the API (repeatable; * for any)")
        ("quota-bytes", po::value(&l.quota_bytes)->default_value(l.quota_bytes), "each user's limit on stored chunk bytes unless the admin set one (0: none)")
        ("gc-grace", po::value(&raw.gc_grace)->default_value("1d"), "how long dead and pending transactions and unreferenced chunks are kept before garbage collection removes them (at least 1s)")
        ("gc-interval", po::value(&raw.gc_interval)->default_value("1h"), "how often the background garbage collection pass runs (0: never; POST /admin/gc runs one at once)")
        ("gc-duty", po::value(&raw.gc_duty)->default_value(raw.gc_duty), "percent of its time a garbage collection pass works: it rests between batches so that requests keep their latency (100: no rest)")
        ("history-retention", po::value(&raw.history_retention)->default_value("0"), "remove committed transactions before the user's snapshot once committed this long ago (0: keep all history)")
        ("snapshot-after", po::value(&c.store.snapshot_after)->default_value(c.store.snapshot_after), "committed transactions after the snapshot from which clients are asked for a new one (Snapshot-Urgency: low; high from 1.5 times; 0: never by count)")
        ("snapshot-age", po::value(&raw.snapshot_age)->default_value("14d"), "age of the snapshot (or of the first commit) from which clients are asked for a new one (low; high from 1.5 times; 0: never by age)")
        ("disable-delete", po::bool_switch(&raw.no_delete), "answer DELETE /0.1/{user} with 403")
        ("unsafe-no-sync", po::bool_switch(&raw.no_sync), "do not fsync writes (loses acknowledged writes on power loss)")
        ("log-level", po::value(&out.log_level)->default_value("info"), "debug, info, warn or error");
    return desc;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (scale == 0 || value > std::numeric_limits<std::int64_t>::max() / scale) return std::nullopt;
    return std::chrono::seconds(static_cast<std::int64_t>(value * scale));
}

std::string duration_help(std::string_view text) {
    return "'" + std::string(text) + "' is not a duration (a whole number with an optional unit s, m, h or d)";
}

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

std::string apply_store_location(const std::string& text, storage::store_options& store) {
    if (text.empty()) return {};
    if (text.starts_with("rocksdb:")) {
        store.kind = storage::store_kind::rocksdb;
        store.dir = text.substr(8);
        if (store.dir.empty()) return "--store rocksdb:DIR needs a directory";
        return {};
    }
    if (text.starts_with("postgresql://") || text.starts_with("postgres://")) {
        store.kind = storage::store_kind::postgresql;
        store.connection = text;
        return {};
    }
    if (text.starts_with("postgresql:")) {
        store.kind = storage::store_kind::postgresql;
        store.connection = text.substr(11);
        return {};
    }
    return "--store must be rocksdb:DIR, postgresql://... or postgresql:KEY=VALUE..., got '" + text + "'";
}

parsed_options parse_server_options(const std::vector<std::string>& args) {
    parsed_options out;
    raw_options raw;
    auto desc = describe(out.config, out, raw);
    std::ostringstream help;
    help << "usage: chunklogd [options]\n"
            "       chunklogd verify --data-dir DIR | --store S check every chunk and invariant of a store\n"
            "       chunklogd backup --data-dir DIR --to DIR    copy a store, also while a server runs on it\n"
            "       chunklogd restore --from DIR --data-dir DIR put a verified backup in place\n"
            "       chunklogd migrate --from rocksdb:DIR --to postgresql://...\n"
            "                                                   move every user of a RocksDB store into PostgreSQL\n\n"
         << desc;
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
    if (!split_listen_address(raw.listen, out.config.host, out.config.port))
        out.error = "--listen must be HOST:PORT, got '" + raw.listen + "'";
    out.config.store.dir = raw.dir;
    if (auto e = apply_store_location(raw.store, out.config.store); !e.empty()) out.error = e;
    out.config.store.sync_writes = !raw.no_sync;
    out.config.store.default_quota_bytes = out.config.service.limits.quota_bytes;
    out.config.service.allow_delete = !raw.no_delete;
    auto& access = out.config.service.access;
    if (raw.auth == "token" || raw.auth == "none")
        access.auth = raw.auth == "none" ? api::auth_mode::none : api::auth_mode::token;
    else
        out.error = "--auth must be token or none, got '" + raw.auth + "'";
    if (raw.registration == "open" || raw.registration == "closed")
        access.open_registration = raw.registration == "open";
    else
        out.error = "--registration must be open or closed, got '" + raw.registration + "'";
    if (auto ttl = parse_duration(raw.token_cache_ttl)) access.token_cache_ttl = *ttl;
    else out.error = "--token-cache-ttl: " + duration_help(raw.token_cache_ttl);
    // Sections 8 and 9. The store keeps milliseconds: durations past 10,000 years are taken as 10,000 years.
    auto capped = [](std::chrono::seconds d) { return std::min(d, std::chrono::seconds(10'000LL * 365 * 86400)); };
    if (auto d = parse_duration(raw.gc_grace); d && *d >= std::chrono::seconds(1)) out.config.store.gc_grace = capped(*d);
    else out.error = "--gc-grace: " + (d ? "must be at least 1s, got '" + raw.gc_grace + "'" : duration_help(raw.gc_grace));
    if (auto d = parse_duration(raw.gc_interval)) out.config.service.gc_interval = capped(*d);
    else out.error = "--gc-interval: " + duration_help(raw.gc_interval);
    if (raw.gc_duty >= 1 && raw.gc_duty <= 100) out.config.store.gc_duty = raw.gc_duty / 100.0;
    else out.error = "--gc-duty must be a percentage from 1 to 100, got " + std::to_string(raw.gc_duty);
    if (auto d = parse_duration(raw.history_retention)) out.config.store.history_retention = capped(*d);
    else out.error = "--history-retention: " + duration_help(raw.history_retention);
    if (auto d = parse_duration(raw.snapshot_age)) out.config.store.snapshot_age = capped(*d);
    else out.error = "--snapshot-age: " + duration_help(raw.snapshot_age);
    if (out.config.tls_cert_file.empty() != out.config.tls_key_file.empty())
        out.error = "--tls-cert and --tls-key go together: give both, or neither for plain HTTP";
    if (out.config.blocking_threads == 0) out.error = "--blocking-threads must be at least 1";
    return out;
}

}  // namespace chunklog
