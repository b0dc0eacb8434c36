#include "storage/postgresql/pg.hpp"

#include <libpq-fe.h>

#include <cstring>

namespace chunklog::storage::pg {
namespace {

// Type OIDs of the parameters we send (pg_type.dat).
constexpr unsigned bytea_oid = 17;
constexpr unsigned int8_oid = 20;
constexpr unsigned text_oid = 25;
constexpr unsigned uuid_oid = 2950;
constexpr unsigned bytea_array_oid = 1001;
constexpr unsigned int8_array_oid = 1016;

std::string big_endian(std::uint64_t v) {
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return out;
}

std::string big_endian32(std::uint32_t v) { return big_endian(v).substr(4); }

std::uint64_t read_big_endian(std::string_view b) {
    std::uint64_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    return v;
}

}  // namespace

params& params::push(std::string value, unsigned type, int format, bool null) {
    lengths_.push_back(static_cast<int>(value.size()));
    values_.push_back(std::move(value));
    nulls_.push_back(null);
    types_.push_back(type);
    formats_.push_back(format);
    return *this;
}

params& params::add(const uuid& id) { return push(std::string(id.raw()), uuid_oid, 1); }
params& params::add(const digest& id) { return push(std::string(id.raw()), bytea_oid, 1); }
params& params::add_bytes(std::string_view bytes) { return push(std::string(bytes), bytea_oid, 1); }
params& params::add(std::int64_t value) { return push(big_endian(static_cast<std::uint64_t>(value)), int8_oid, 1); }
params& params::add_text(std::string_view text) { return push(std::string(text), text_oid, 0); }
params& params::add_null() { return push(std::string(), 0, 0, true); }

params& params::push_array(unsigned array_type, unsigned element_type, std::span<const std::string> elements) {
    // Dimensions, a null bitmap flag, the element type, then per dimension
    // its length and lower bound (1), then each element's length and bytes.
    std::string out = big_endian32(1) + big_endian32(0) + big_endian32(element_type) +
                      big_endian32(static_cast<std::uint32_t>(elements.size())) + big_endian32(1);
    for (const auto& e : elements) out += big_endian32(static_cast<std::uint32_t>(e.size())) + e;
    return push(std::move(out), array_type, 1);
}

params& params::add_bytes_array(std::span<const std::string_view> elements) {
    std::vector<std::string> encoded(elements.begin(), elements.end());
    return push_array(bytea_array_oid, bytea_oid, encoded);
}

params& params::add_array(std::span<const std::int64_t> elements) {
    std::vector<std::string> encoded;
    encoded.reserve(elements.size());
    for (auto e : elements) encoded.push_back(big_endian(static_cast<std::uint64_t>(e)));
    return push_array(int8_array_oid, int8_oid, encoded);
}

std::vector<const char*> params::pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) out.push_back(nulls_[i] ? nullptr : values_[i].data());
    return out;
}

result::result(pg_result* r) : r_(r) {}
result::~result() {
    if (r_ != nullptr) PQclear(r_);
}
result::result(result&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
result& result::operator=(result&& other) noexcept {
    if (this != &other) {
        if (r_ != nullptr) PQclear(r_);
        r_ = other.r_;
        other.r_ = nullptr;
    }
    return *this;
}

int result::rows() const { return PQntuples(r_); }
std::size_t result::affected() const {
    const char* n = PQcmdTuples(r_);
    return n == nullptr || *n == '\0' ? 0 : std::strtoull(n, nullptr, 10);
}
bool result::null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
std::string_view result::bytes(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}
std::int64_t result::i64(int row, int col) const {
    auto b = bytes(row, col);
    return static_cast<std::int64_t>(read_big_endian(b));  // int8; also int4 and int2 (sign-extended below)
}
std::int32_t result::i32(int row, int col) const { return static_cast<std::int32_t>(read_big_endian(bytes(row, col))); }
std::int16_t result::i16(int row, int col) const { return static_cast<std::int16_t>(read_big_endian(bytes(row, col))); }
bool result::boolean(int row, int col) const {
    auto b = bytes(row, col);
    return !b.empty() && b[0] != 0;
}
outcome<uuid> result::id(int row, int col) const {
    auto u = uuid::from_bytes(bytes(row, col));
    if (!u) return make_error(errc::internal, "corrupt uuid in the database");
    return *u;
}
outcome<digest> result::hash(int row, int col) const {
    auto d = digest::from_bytes(bytes(row, col));
    if (!d) return make_error(errc::internal, "corrupt chunk id in the database");
    return *d;
}
std::optional<std::int64_t> result::optional_i64(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return i64(row, col);
}

bool retryable(const failure& f) {
    return f.sqlstate == "40001" || f.sqlstate == "40P01";  // serialization_failure, deadlock_detected
}

error to_error(const failure& f) {
    const auto& s = f.sqlstate;
    // Class 08: connection exceptions; 57P01-57P03: the server shuts down,
    // crashed or cannot accept connections yet; 53300: too many connections.
    if (s.empty() || s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300")
        return make_error(errc::unavailable, "the database is unavailable: " + f.message);
    if (s == "53100") return make_error(errc::insufficient_storage, "the database is out of disk space");
    if (retryable(f)) return make_error(errc::unavailable, "the database stayed contended: " + f.message);
    return make_error(errc::internal, "database error " + s + ": " + f.message);
}

outcome<std::unique_ptr<connection>> connection::open(const std::string& conninfo) {
    // Defaults first: what conninfo (expanded in dbname's place) says wins.
    // A database host that vanishes without a word (dropped packets, no
    // reset) would otherwise hang a connect for minutes and a request on an
    // open connection for hours: connects give up after 5 s, and TCP
    // keepalives and a user timeout find a dead peer within about 30 s.
    const char* keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"5", "10", "5", "3", "30000", "chunklogd", conninfo.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, 1);
    if (c == nullptr) return make_error(errc::unavailable, "the database is unavailable: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        std::string message = PQerrorMessage(c);
        PQfinish(c);
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        return make_error(errc::unavailable, "the database is unavailable: " + message);
    }
    // The server's notices ("relation already exists, skipping") are not errors: not printed.
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    return std::unique_ptr<connection>(new connection(c));
}

connection::~connection() { PQfinish(conn_); }

error connection::fail(pg_result* r) {
    failure f;
    if (r != nullptr) {
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state != nullptr) f.sqlstate = state;
        f.message = PQresultErrorMessage(r);
    }
    if (f.message.empty()) f.message = PQerrorMessage(conn_);
    while (!f.message.empty() && (f.message.back() == '\n' || f.message.back() == ' ')) f.message.pop_back();
    if (r != nullptr) PQclear(r);
    if (PQstatus(conn_) != CONNECTION_OK) f.sqlstate.clear();  // the connection itself is gone
    last_failure_ = f;
    return to_error(f);
}

outcome<const std::string*> connection::prepared(const char* sql, const params& p) {
    if (auto it = prepared_.find(sql); it != prepared_.end()) return &it->second;
    auto name = "chunklog_" + std::to_string(prepared_.size());
    PGresult* r = PQprepare(conn_, name.c_str(), sql, p.size(), p.types());
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) return fail(r);
    PQclear(r);
    return &prepared_.emplace(sql, std::move(name)).first->second;
}

outcome<result> connection::run(const char* sql, const params& p) {
    auto values = p.pointers();
    PGresult* r = nullptr;
    if (p.size() == 0) {  // BEGIN, COMMIT and the like: nothing to plan
        r = PQexecParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 1);
    } else {
        auto name = prepared(sql, p);
        if (!name) return name.error();
        r = PQexecPrepared(conn_, (*name)->c_str(), p.size(), values.data(), p.lengths(), p.formats(), 1);
    }
    auto status = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return fail(r);
    return result(r);
}

outcome<void> connection::run_script(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    auto status = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return fail(r);
    PQclear(r);
    return {};
}

bool connection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }
int connection::socket() const { return PQsocket(conn_); }

}  // namespace chunklog::storage::pg
