#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>
#include <chunklog/sha256.hpp>

#include <doctest/doctest.h>

using namespace chunklog;

TEST_SUITE("core") {

TEST_CASE("uuid accepts only the canonical lowercase form") {
    auto id = uuid::parse("0123abcd-4567-89ef-0123-456789abcdef");
    REQUIRE(id);
    CHECK(id->to_string() == "0123abcd-4567-89ef-0123-456789abcdef");
    CHECK(uuid::parse("00000000-0000-0000-0000-000000000000")->is_root());
    CHECK_FALSE(uuid::parse("0123ABCD-4567-89ef-0123-456789abcdef"));  // uppercase
    CHECK_FALSE(uuid::parse("0123abcd456789ef0123456789abcdef"));      // no dashes
    CHECK_FALSE(uuid::parse("0123abcd-4567-89ef-0123-456789abcde"));   // short
    CHECK_FALSE(uuid::parse("0123abcd-4567-89ef-0123-456789abcdeff"));  // long
    CHECK_FALSE(uuid::parse("0123abcd-4567-89ef-0123-456789abcdeg"));  // not hex
    CHECK_FALSE(uuid::parse("0123abcd-45678-9ef-0123-456789abcdef"));  // dash moved
    CHECK_FALSE(uuid::parse("{123abcd-4567-89ef-0123-456789abcdef"));
    CHECK_FALSE(uuid::parse(""));
}

TEST_CASE("uuid and digest refuse one wrong character at any place, and keep every byte of a good one") {
    const std::string good_uuid = "0123abcd-4567-89ef-0123-456789abcdef";
    for (std::size_t at = 0; at < good_uuid.size(); ++at)
        for (char wrong : {'g', 'G', 'A', '-', '/', '\0', '\xff'}) {
            if (good_uuid[at] == wrong) continue;
            auto text = good_uuid;
            text[at] = wrong;
            CAPTURE(text);
            CHECK_FALSE(uuid::parse(text));
        }
    std::string good_digest = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    for (std::size_t at = 0; at < good_digest.size(); ++at) {
        auto text = good_digest;
        text[at] = 'x';
        CHECK_FALSE(digest::parse(text));
    }
    REQUIRE(digest::parse(good_digest));
    CHECK(digest::parse(good_digest)->to_string() == good_digest);
    for (int i = 0; i < 100; ++i) {
        auto id = uuid::random();
        CHECK(uuid::parse(id.to_string()) == id);
    }
}

TEST_CASE("uuid raw bytes round-trip") {
    auto id = *uuid::parse("ffffffff-0000-1111-2222-333333333333");
    auto back = uuid::from_bytes(id.raw());
    REQUIRE(back);
    CHECK(*back == id);
    CHECK_FALSE(uuid::from_bytes("short"));
}

TEST_CASE("digest parses lowercase hex of 64 characters") {
    std::string hex(64, 'a');
    REQUIRE(digest::parse(hex));
    CHECK(digest::parse(hex)->to_string() == hex);
    CHECK_FALSE(digest::parse(std::string(64, 'A')));
    CHECK_FALSE(digest::parse(std::string(63, 'a')));
    CHECK_FALSE(digest::parse(std::string(65, 'a')));
    CHECK_FALSE(digest::parse("missing"));
}

TEST_CASE("sha256 matches the standard test vectors") {
    CHECK(sha256_of("").to_string() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_of("abc").to_string() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("incremental sha256 equals one-shot and resets after finish") {
    std::string text(100000, 'x');
    sha256_hasher h;
    for (std::size_t i = 0; i < text.size(); i += 777) h.update(std::string_view(text).substr(i, 777));
    CHECK(h.finish() == sha256_of(text));
    h.update("abc");
    CHECK(h.finish() == sha256_of("abc"));
}

TEST_CASE("every error code has a distinct wire name that maps back") {
    for (int i = static_cast<int>(errc::bad_request); i <= static_cast<int>(errc::network); ++i) {
        auto e = static_cast<errc>(i);
        CHECK(code_from_name(code_name(e)) == e);
        boost::system::error_code ec = e;
        CHECK(ec.message() == std::string(code_name(e)));
    }
    CHECK(code_name(errc::missing_chunks) == "missing_chunks");
    CHECK(code_name(errc::history_truncated) == "history_truncated");
    CHECK(code_from_name("quota_exceeded") == errc::quota_exceeded);
    CHECK(code_from_name("no_such_code") == errc::internal);
}

}
