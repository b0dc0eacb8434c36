// TaskChampion's encrypted envelope against the published test vectors
// (taskchampion's src/server/test-*.data) and fixed-nonce known answers for
// a history segment and a snapshot (../shared/reference/taskchampion.md 2).
#include <chunklog/tasks/envelope.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace chunklog;

namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string to_hex(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += {digits[p[i] >> 4], digits[p[i] & 15]};
    return out;
}

const uuid client_id = *uuid::parse("0666d464-418a-4a08-ad53-6f15c78270cd");
const uuid version = *uuid::parse("b0517957-f912-4d49-8330-f612e73030c4");
const std::string secret = "b4a4e6b7b811eda1dc1a2693ded";

const sealing_key& published_key() {
    static const sealing_key key = sealing_key::derive(secret, client_id);
    return key;
}

}  // namespace

TEST_CASE("the key is PBKDF2-HMAC-SHA256 of the secret with the client id's bytes as salt") {
    CHECK(to_hex(published_key().bytes().data(), 32) == "3161783d519a867f5c43b4ce89affb6d238de3bc4e3bbce6ad6045e9d6ed6423");
}

TEST_CASE("the published good vector opens to SUCCESS") {
    auto good = from_hex("010b0874fe60261292c7d15f1e29d389e7dbfac718fbde080767ff727d882df85ab8c073");
    auto opened = published_key().open(good, version);
    REQUIRE(opened);
    CHECK(*opened == "SUCCESS");
}

TEST_CASE("each published bad vector is refused") {
    auto refused = [](std::string_view hex) {
        auto r = published_key().open(from_hex(hex), version);
        return r ? std::string("opened") : r.error().message;
    };
    CHECK(refused("015373b49313df064cb4827cf03a3d9d1a93cb223bfc9715d19eb2a535ef0b4a4b993ded").find("does not decrypt") != std::string::npos);
    CHECK(refused("01d0dd0f689d58c916e52e8aec4549940b2fc70dccc742f3eb84d40d0e1df8cd1b0603e8").find("does not decrypt") != std::string::npos);
    CHECK(refused("017f59ce7c8801017a0c4a75e202d1be4bb9e77a46f15dc0e113f2a804624378cede1998").find("does not decrypt") != std::string::npos);
    CHECK(refused("637ac779c9e4f833ece232dded07ad07039588cc36d14c7af4da41e07d3b8442c536401f") ==
          "unrecognized encryption envelope version 99");
    CHECK(refused("0149b54eea75c80a3b93c6905ea4bc8117a23949eab18fc489b7ef02e7a9ff69ef62c09b").find("does not decrypt") != std::string::npos);
    CHECK(refused("010203") == "encryption envelope is too small");
    CHECK(refused("01000102030405060708090a0b0c") == "encryption envelope is too small");
}

TEST_CASE("the bad-secret vector opens with its own secret, so only the key refused it") {
    auto key = sealing_key::derive(std::string(21, 'x'), client_id);
    auto r = key.open(from_hex("017f59ce7c8801017a0c4a75e202d1be4bb9e77a46f15dc0e113f2a804624378cede1998"), version);
    REQUIRE(r);
    CHECK(*r == "SUCCESS");
}

TEST_CASE("a history segment sealed with a fixed nonce matches the known answer, bound to the nil parent") {
    std::string segment =
        R"({"operations":[{"Create":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7"}},{"Update":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7","property":"description","value":"a task","timestamp":"2021-10-11T12:47:07.188090948Z"}}]})";
    sealing_key::nonce_type nonce{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    auto sealed = published_key().seal(segment, root_id, nonce);
    CHECK(to_hex(reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size()) ==
          "01000102030405060708090a0b2f52facfce4004c21054b2d9d0d95a773a91e688e243347fa559df0d83f80c12a246503a54c83237fd39edd46a835b4dceef5055855c56e8662cacac0398f88174d85b94e649e81e9657c578be2dd4a273ebc9ddb751f39c8f6d0ed493a668e561bd73e2ea34c3d1e4504400baf4e7a7de6d53d08380e91913fbcbb914be59206389e5905efaa3bc33314c2fa4daa8b95b2e264bfb223dffec07fe47dc85c2d1b9fee539886c70c1ae3297f66ec2d532c58fdeb6e0fdacba513f9be47a9cf5210e8ada2bb5d07a48f358159235bc31462782ce5e1c0e7aed203560d98f70638056728dd9a4166d05487487ad33");
    CHECK(sealed.size() == segment.size() + sealing_key::overhead);
    CHECK(published_key().open(sealed, root_id).value() == segment);
    CHECK_FALSE(published_key().open(sealed, version));  // bound to its parent
}

TEST_CASE("a snapshot envelope opens to its zlib stream with the snapshot's own version") {
    auto envelope = from_hex(
        "010c0d0e0f1011121314151617b60b85f130bfdee69b4dac4e816cae67c27a6ad698106757c012ccf1054a34dd79de17a9eb6f3cda06c484f66c5660da54f68b112546c13904147e8264ef85589c6e0a0bcde538ff905048fe1983a0986860681aed0cbf593ec95d62d5b90d86cf56b0161438");
    auto opened = published_key().open(envelope, version);
    REQUIRE(opened);
    CHECK(*opened == from_hex("789c0dc84b0a80201000d0abc4ac134cfc90b71967342430495b8977cfcd5bbc01c64619a27482ec91843e3509348bc094988d62850efc008e8dde5c7b7e0a78c0ad63bb6187d6b17f6d4d8d8573b960ce1f2bdd1aaf"));
}

TEST_CASE("sealing twice uses two nonces, and both open") {
    auto a = published_key().seal("same", version), b = published_key().seal("same", version);
    CHECK(a != b);
    CHECK(published_key().open(a, version).value() == "same");
    CHECK(published_key().open(b, version).value() == "same");
}
