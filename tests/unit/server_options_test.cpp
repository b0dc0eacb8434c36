#include "chunklogd/server_options.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using chunklog::parse_server_options;

TEST_SUITE("server_options") {

TEST_CASE("defaults match the documentation") {
    auto o = parse_server_options({});
    REQUIRE(o.error.empty());
    CHECK(o.config.host == "127.0.0.1");
    CHECK(o.config.port == 8080);
    CHECK(o.config.store.dir == "./data");
    CHECK(o.config.store.sync_writes);
    CHECK(o.config.service.allow_delete);
    CHECK(o.config.service.limits.max_chunk_bytes == 16u << 20);
}

TEST_CASE("flags are parsed") {
    auto o = parse_server_options({"--listen", "[::1]:9000", "--data-dir", "/tmp/x", "--threads", "3",
                                   "--max-chunk-bytes", "1024", "--disable-delete", "--idle-timeout", "5"});
    REQUIRE(o.error.empty());
    CHECK(o.config.host == "::1");
    CHECK(o.config.port == 9000);
    CHECK(o.config.store.dir == "/tmp/x");
    CHECK(o.config.io_threads == 3);
    CHECK(o.config.service.limits.max_chunk_bytes == 1024);
    CHECK_FALSE(o.config.service.allow_delete);
    CHECK(o.config.idle_timeout == std::chrono::seconds(5));
}

TEST_CASE("environment variables configure, the command line wins") {
    ::setenv("CHUNKLOG_DATA_DIR", "/from/env", 1);
    ::setenv("CHUNKLOG_MAX_CHUNK_BYTES", "77", 1);
    auto o = parse_server_options({"--max-chunk-bytes", "88"});
    ::unsetenv("CHUNKLOG_DATA_DIR");
    ::unsetenv("CHUNKLOG_MAX_CHUNK_BYTES");
    REQUIRE(o.error.empty());
    CHECK(o.config.store.dir == "/from/env");
    CHECK(o.config.service.limits.max_chunk_bytes == 88);
}

TEST_CASE("usage errors are reported") {
    CHECK_FALSE(parse_server_options({"--listen", "nonsense"}).error.empty());
    CHECK_FALSE(parse_server_options({"--listen", "host:99999"}).error.empty());
    CHECK_FALSE(parse_server_options({"--threads", "many"}).error.empty());
    CHECK_FALSE(parse_server_options({"--no-such-flag"}).error.empty());
    CHECK(parse_server_options({"--help"}).show_help);
    CHECK(parse_server_options({"--version"}).show_version);
}

}

TEST_CASE("--gc-duty is the share of its time a collection pass works") {
    CHECK(parse_server_options({}).config.store.gc_duty == doctest::Approx(0.25));
    CHECK(parse_server_options({"--gc-duty", "100"}).config.store.gc_duty == doctest::Approx(1.0));
    CHECK(parse_server_options({"--gc-duty", "0"}).error.find("--gc-duty") != std::string::npos);
    CHECK(parse_server_options({"--gc-duty", "101"}).error.find("--gc-duty") != std::string::npos);
}
