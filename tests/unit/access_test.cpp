// Unit tests of the access building blocks: the token cache, the
// failed-authentication limiter, bearer parsing and token secrets, and the
// admin token file.
#include "api/admin_token.hpp"
#include "api/auth_limiter.hpp"
#include "api/token_cache.hpp"
#include "api/token_secret.hpp"

#include "support/temp_dir.hpp"

#include <chunklog/sha256.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace chunklog;
using namespace chunklog::api;
using namespace std::chrono_literals;

namespace {

storage::token_record record(const std::string& id) {
    storage::token_record t;
    t.id = id;
    t.user = uuid::random();
    return t;
}

}  // namespace

TEST_SUITE("access") {

TEST_CASE("token cache: finds what it holds, forgets on request and after its ttl") {
    token_cache cache(1000, 30s);
    auto now = token_cache::clock::now();
    auto key = sha256_of("secret");
    CHECK(!cache.find(key, now));
    cache.insert(key, record("a"), now);
    REQUIRE(cache.find(key, now + 29s));
    CHECK(cache.find(key, now + 29s)->id == "a");
    CHECK(!cache.find(key, now + 30s));  // expired entries are dropped
    cache.insert(key, record("a"), now);
    cache.forget(key);
    CHECK(!cache.find(key, now));
}

TEST_CASE("token cache: bounded, the least recently used go first") {
    token_cache cache(16 * 4, 30s);  // four per shard
    auto now = token_cache::clock::now();
    for (int i = 0; i < 10'000; ++i) cache.insert(sha256_of(std::to_string(i)), record(std::to_string(i)), now);
    CHECK(cache.size() <= 64);
    auto kept = sha256_of("kept");
    cache.insert(kept, record("kept"), now);
    for (int i = 0; i < 200; ++i) {
        CHECK(cache.find(kept, now));  // used: stays
        cache.insert(sha256_of("x" + std::to_string(i)), record("x"), now);
    }
    CHECK(cache.find(kept, now));
}

TEST_CASE("limiter: past the limit within the window an address waits until the window ends") {
    auth_limiter limiter(3, 60s, 100);
    auto t0 = auth_limiter::clock::now();
    for (int i = 0; i < 3; ++i) {
        CHECK(!limiter.blocked("10.0.0.1", t0));
        limiter.record_failure("10.0.0.1", t0);
    }
    auto wait = limiter.blocked("10.0.0.1", t0 + 10s);
    REQUIRE(wait);
    CHECK(*wait == 50s);
    CHECK(!limiter.blocked("10.0.0.2", t0));  // other addresses are not affected
    CHECK(!limiter.blocked("10.0.0.1", t0 + 60s));
}

TEST_CASE("limiter: an IPv6 /64 counts as one address, v4-mapped addresses as IPv4") {
    CHECK(auth_limiter::address_key("2001:db8:1:2:aaaa::1") == auth_limiter::address_key("2001:db8:1:2:bbbb::9"));
    CHECK(auth_limiter::address_key("2001:db8:1:2::1") != auth_limiter::address_key("2001:db8:1:3::1"));
    CHECK(auth_limiter::address_key("::ffff:10.1.2.3") == "10.1.2.3");
    CHECK(auth_limiter::address_key("10.1.2.3") == "10.1.2.3");
}

TEST_CASE("limiter: memory stays bounded however many addresses fail") {
    auth_limiter limiter(3, 60s, 1000);
    auto t0 = auth_limiter::clock::now();
    for (int i = 0; i < 100'000; ++i) limiter.record_failure("10." + std::to_string(i / 65536) + "." +
                                                                 std::to_string(i / 256 % 256) + "." +
                                                                 std::to_string(i % 256),
                                                             t0);
    CHECK(limiter.addresses() <= 1000);
}

TEST_CASE("bearer tokens: scheme case-insensitive, printable text only") {
    CHECK(bearer_token("Bearer abc").value() == "abc");
    CHECK(bearer_token("bearer abc").value() == "abc");
    CHECK(bearer_token("BEARER  abc ").value() == "abc");
    CHECK(!bearer_token(""));
    CHECK(!bearer_token("Bearer "));
    CHECK(!bearer_token("Basic abc"));
    CHECK(!bearer_token("Bearer a b"));
    CHECK(!bearer_token("Bearer " + std::string(257, 'a')));
    CHECK(!bearer_token("Bearer caf\xc3\xa9"));
}

TEST_CASE("token secrets: fresh, URL-safe, and ids distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto s = new_token_secret();
        CHECK(s.size() == 47);
        CHECK(s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
              std::string::npos);
        CHECK(seen.insert(s).second);
        CHECK(seen.insert(new_token_id()).second);
    }
    CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(rfc3339(1796040000) == "2026-11-30T12:00:00Z");
}

TEST_CASE("admin token file: created once with mode 0600, then reused, and a bad file is an error") {
    test::temp_dir dir;
    auto first = load_or_create_admin_token(dir.path());
    REQUIRE(first);
    CHECK(valid_token_text(*first));
    auto perms = std::filesystem::status(dir.path() / "admin-token").permissions() & std::filesystem::perms::all;
    CHECK(perms == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto again = load_or_create_admin_token(dir.path());
    REQUIRE(again);
    CHECK(*again == *first);
    { std::ofstream(dir.path() / "bad") << "has a space\n"; }
    CHECK(!read_admin_token(dir.path() / "bad"));
    CHECK(!read_admin_token(dir.path() / "missing"));
}

}  // TEST_SUITE
