// chunklogd's TLS options: --tls-cert and --tls-key go together.
#include "chunklogd/server_options.hpp"

#include <doctest/doctest.h>

using chunklog::parse_server_options;

TEST_SUITE("server_options") {

TEST_CASE("--tls-cert and --tls-key are read together, and neither means plain HTTP") {
    auto plain = parse_server_options({});
    REQUIRE(plain.error.empty());
    CHECK(plain.config.tls_cert_file.empty());
    CHECK(plain.config.tls_key_file.empty());

    auto tls = parse_server_options({"--tls-cert", "/etc/chunklog/chain.pem", "--tls-key", "/etc/chunklog/key.pem"});
    REQUIRE(tls.error.empty());
    CHECK(tls.config.tls_cert_file == "/etc/chunklog/chain.pem");
    CHECK(tls.config.tls_key_file == "/etc/chunklog/key.pem");
    CHECK(tls.help_text.find("--tls-cert") != std::string::npos);
}

TEST_CASE("--tls-cert without --tls-key, or the reverse, is a usage error") {
    auto cert_only = parse_server_options({"--tls-cert", "c.pem"});
    CHECK(cert_only.error.find("--tls-key") != std::string::npos);
    auto key_only = parse_server_options({"--tls-key", "k.pem"});
    CHECK(key_only.error.find("--tls-cert") != std::string::npos);
}

}
