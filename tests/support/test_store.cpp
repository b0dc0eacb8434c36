#include "support/test_store.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace chunklog::test {
namespace {

constexpr const char* test_database = "chunklog_tests";

using connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

std::string base_conninfo() {
    const char* base = std::getenv("CHUNKLOG_TEST_POSTGRES");
    if (base == nullptr || *base == '\0')
        throw std::runtime_error("the tests on PostgreSQL need CHUNKLOG_TEST_POSTGRES: run them through "
                                 "scripts/test.sh, or start a cluster with scripts/pg-cluster.sh start DIR and set it "
                                 "to the line that prints");
    return base;
}

connection connect(const std::string& conninfo) {
    connection c(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to the tests' PostgreSQL: " + std::string(PQerrorMessage(c.get())));
    return c;
}

// Runs `sql`; an error whose SQLSTATE is in `tolerated` is not one.
void run(PGconn* c, const std::string& sql, std::initializer_list<std::string_view> tolerated = {}) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), &PQclear);
    auto status = PQresultStatus(r.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    for (auto t : tolerated)
        if (state != nullptr && t == state) return;
    throw std::runtime_error(sql + ": " + PQerrorMessage(c));
}

// The tests' database, made once per process (other processes may race to make it).
void ensure_database() {
    static std::once_flag made;
    std::call_once(made, [] {
        auto c = connect(base_conninfo());
        // 42P04: it exists; 23505: another process made it at the same instant.
        run(c.get(), std::string("CREATE DATABASE ") + test_database, {"42P04", "23505"});
    });
}

std::string schema_of(const std::filesystem::path& dir) {
    char name[32];
    std::snprintf(name, sizeof name, "t_%016zx", std::hash<std::string>{}(std::filesystem::absolute(dir).string()));
    return name;
}

}  // namespace

bool on_postgresql() {
    const char* store = std::getenv("CHUNKLOG_TEST_STORE");
    return store != nullptr && std::string_view(store) == "postgresql";
}

std::string postgresql_conninfo(const std::filesystem::path& dir) {
    ensure_database();
    auto schema = schema_of(dir);
    auto conninfo = base_conninfo() + " dbname=" + test_database;
    auto c = connect(conninfo);
    run(c.get(), "CREATE SCHEMA IF NOT EXISTS " + schema, {"42P06", "23505"});
    return conninfo + " options='-c search_path=" + schema + "'";
}

storage::store_options store_options_for(const std::filesystem::path& dir) {
    storage::store_options options;
    options.dir = dir;
    if (on_postgresql()) {
        options.kind = storage::store_kind::postgresql;
        options.connection = postgresql_conninfo(dir);
    }
    return options;
}

std::vector<std::string> store_args_for(const std::filesystem::path& data_dir) {
    if (!on_postgresql()) return {};
    return {"--store", "postgresql:" + postgresql_conninfo(data_dir)};
}

}  // namespace chunklog::test
