#include "storage/rocksdb/keys.hpp"

#include <doctest/doctest.h>

using namespace chunklog;
namespace keys = chunklog::storage::keys;

TEST_SUITE("keys") {

TEST_CASE("chain keys sort by numeric seq") {
    auto user = *uuid::parse("11111111-1111-1111-1111-111111111111");
    CHECK(keys::chain(user, 2) < keys::chain(user, 10));
    CHECK(keys::chain(user, 255) < keys::chain(user, 256));
    CHECK(keys::chain_seq(keys::chain(user, 123456789)) == 123456789u);
    CHECK_FALSE(keys::chain_seq(keys::head(user)));
}

TEST_CASE("a user's range covers all its keys and none of its neighbours'") {
    auto user = *uuid::parse("7fffffff-ffff-ffff-ffff-ffffffffffff");
    auto next = *uuid::parse("80000000-0000-0000-0000-000000000000");
    auto id = *uuid::parse("ffffffff-ffff-ffff-ffff-ffffffffffff");
    digest all_ff{[] { digest::bytes_type b; b.fill(0xff); return b; }()};
    auto begin = keys::user_begin(user);
    auto end = keys::user_end(user);
    for (const auto& key : {keys::head(user), keys::stats(user), keys::transaction(user, id),
                            keys::child(user, id, id), keys::chain(user, ~0ULL), keys::chunk(user, all_ff),
                            keys::chunk_size(user, all_ff), keys::origin(user)}) {
        CHECK(key >= begin);
        CHECK(key < end);
    }
    CHECK(keys::head(next) >= end);
    CHECK(keys::chunk(next, digest{}) >= end);
}

TEST_CASE("head and transaction values round-trip") {
    auto a = *uuid::parse("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa");
    auto b = *uuid::parse("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb");
    head_state h{a, 42};
    CHECK(keys::decode_head(keys::encode_head(h)) == h);
    CHECK_FALSE(keys::decode_head("short"));

    transaction_record t{a, b, 7, {digest{}, *digest::parse(std::string(64, 'c')), digest{}}};
    CHECK(keys::decode_transaction(a, keys::encode_transaction(t)) == t);
    t.chunks.clear();
    CHECK(keys::decode_transaction(a, keys::encode_transaction(t)) == t);
    CHECK_FALSE(keys::decode_transaction(a, "bad"));
}

TEST_CASE("origin parent values round-trip, and the key is the user's 'O' tag") {
    auto user = *uuid::parse("11111111-1111-1111-1111-111111111111");
    keys::origin_record o{*uuid::parse("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"),
                          *uuid::parse("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")};
    CHECK(keys::decode_origin(keys::encode_origin(o)) == o);
    CHECK_FALSE(keys::decode_origin("short"));
    CHECK_FALSE(keys::decode_origin(keys::encode_origin(o) + "x"));
    CHECK(keys::key_tag(keys::origin(user)) == keys::tag::origin);
    CHECK(keys::origin(user) == keys::tag_prefix(user, keys::tag::origin));
}

TEST_CASE("stats values round-trip and tolerate garbage") {
    auto s = keys::decode_stats(keys::encode_stats({3, 1000}));
    CHECK(s.count == 3);
    CHECK(s.bytes == 1000);
    CHECK(keys::decode_stats("garbage").count == 0);
}

}
