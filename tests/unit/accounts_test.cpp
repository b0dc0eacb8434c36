// The store's accounts part: tokens, per-user quotas and the user listing,
// their key codecs, and how they outlive DELETE and reopening.
#include "support/store_fixture.hpp"

#include "storage/rocksdb/keys.hpp"

#include <rocksdb/db.h>

#include <atomic>
#include <thread>

using namespace chunklog;
using chunklog::test::make_id;
using chunklog::test::store_fixture;
using storage::token_record;
using storage::token_scope;
namespace keys = chunklog::storage::keys;

namespace {

token_record make_token(const uuid& user, std::string id, std::int64_t created = 1'700'000'000) {
    token_record t;
    t.id = std::move(id);
    t.user = user;
    t.scope = token_scope::write;
    t.label = "laptop";
    t.created = created;
    return t;
}

digest secret_hash(const std::string& secret) { return sha256_of(secret); }

uuid user_from_bytes(std::initializer_list<std::uint8_t> head, std::uint8_t fill) {
    uuid::bytes_type b;
    b.fill(fill);
    std::copy(head.begin(), head.end(), b.begin());
    return uuid(b);
}

}  // namespace

TEST_SUITE("accounts") {

TEST_CASE("token records and account keys round-trip") {
    auto user = make_id(7);
    auto t = make_token(user, "Ab_-09");
    t.scope = token_scope::read;
    t.label = std::string("with \0 and \xff", 12);
    t.created = -5;
    CHECK(keys::decode_token(keys::encode_token(t)) == t);
    t.expires = 1'800'000'000;
    t.label.clear();
    CHECK(keys::decode_token(keys::encode_token(t)) == t);
    t.id = std::string(64, 'x');
    CHECK(keys::decode_token(keys::encode_token(t)) == t);

    auto bad = keys::encode_token(t);
    CHECK_FALSE(keys::decode_token(bad.substr(0, 20)));
    CHECK_FALSE(keys::decode_token(""));
    bad[1 + uuid::size] = 3;  // unknown scope
    CHECK_FALSE(keys::decode_token(bad));

    keys::token_index_entry e{secret_hash("s"), "id-1"};
    auto decoded = keys::decode_token_index(keys::encode_token_index(e));
    REQUIRE(decoded);
    CHECK(decoded->secret_hash == e.secret_hash);
    CHECK(decoded->id == e.id);
    CHECK_FALSE(keys::decode_token_index("short"));

    CHECK(keys::decode_quota(keys::encode_quota(1ULL << 40)) == std::optional<std::uint64_t>(1ULL << 40));
    CHECK_FALSE(keys::decode_quota("1234567"));

    CHECK(keys::token_index(user, 2) < keys::token_index(user, 10));
    CHECK(keys::token_index_number(keys::token_index(user, 300)) == std::optional<std::uint64_t>(300));
    CHECK_FALSE(keys::token_index_number(keys::quota(user)));
    CHECK(keys::account_key_user(keys::quota(user)) == std::optional<uuid>(user));
    CHECK(keys::account_key_user(keys::token_index(user, 1)) == std::optional<uuid>(user));
    CHECK_FALSE(keys::account_key_user(keys::token(secret_hash("s"))));
    CHECK(keys::quota(user).starts_with(keys::account_user(user)));
    CHECK(keys::token_index(user, 1).starts_with(keys::account_user(user)));
}

TEST_CASE("next_user is the following id in byte order") {
    auto zero = uuid{};
    auto one = keys::next_user(zero);
    REQUIRE(one);
    CHECK(one->bytes()[15] == 1);
    auto carry = keys::next_user(user_from_bytes({0x12}, 0xff));
    REQUIRE(carry);
    CHECK(*carry == user_from_bytes({0x13}, 0x00));
    CHECK_FALSE(keys::next_user(user_from_bytes({}, 0xff)));
}

TEST_CASE_FIXTURE(store_fixture, "a token is found by its secret's hash, listed in creation order and revoked") {
    CHECK_FALSE(store->find_token(secret_hash("one")).value());
    CHECK(store->list_tokens(user).value().empty());

    // Same second, ids out of alphabetical order: creation order still wins.
    auto first = make_token(user, "zeta", 100);
    auto second = make_token(user, "alpha", 100);
    second.scope = token_scope::read;
    second.expires = 200;
    auto third = make_token(user, "mid", 99);
    REQUIRE(store->create_token(secret_hash("one"), first, true));
    REQUIRE(store->create_token(secret_hash("two"), second, false));
    REQUIRE(store->create_token(secret_hash("three"), third, false));

    CHECK(store->find_token(secret_hash("two")).value() == std::optional<token_record>(second));
    CHECK(store->list_tokens(user).value() == std::vector{first, second, third});
    CHECK(store->list_tokens(make_id(0x999)).value().empty());

    CHECK(store->revoke_token(user, "alpha").value() == secret_hash("two"));
    CHECK_FALSE(store->find_token(secret_hash("two")).value());
    CHECK(store->list_tokens(user).value() == std::vector{first, third});
    CHECK(store->revoke_token(user, "alpha").error().code == errc::not_found);
    CHECK(store->revoke_token(make_id(0x999), "zeta").error().code == errc::not_found);

    // A token created after a revocation still comes last.
    auto fourth = make_token(user, "alpha", 50);
    REQUIRE(store->create_token(secret_hash("four"), fourth, false));
    CHECK(store->list_tokens(user).value() == std::vector{first, third, fourth});

    reopen();
    CHECK(store->list_tokens(user).value() == std::vector{first, third, fourth});
    CHECK(store->find_token(secret_hash("one")).value() == std::optional<token_record>(first));
}

TEST_CASE_FIXTURE(store_fixture, "a taken secret hash or token id is a conflict and an invalid id a bad request") {
    REQUIRE(store->create_token(secret_hash("s"), make_token(user, "a"), false));
    CHECK(store->create_token(secret_hash("s"), make_token(user, "b"), false).error().code == errc::conflict);
    CHECK(store->create_token(secret_hash("s"), make_token(make_id(2), "c"), false).error().code == errc::conflict);
    CHECK(store->create_token(secret_hash("t"), make_token(user, "a"), false).error().code == errc::conflict);
    // Ids are names within one user.
    CHECK(store->create_token(secret_hash("u"), make_token(make_id(2), "a"), false));

    for (const auto& bad : {std::string(), std::string(65, 'a'), std::string("a b"), std::string("é"),
                            std::string("a/b"), std::string("a.b")})
        CHECK(store->create_token(secret_hash("v"), make_token(user, bad), false).error().code == errc::bad_request);
    auto bad_scope = make_token(user, "scope");
    bad_scope.scope = static_cast<token_scope>(9);
    CHECK(store->create_token(secret_hash("v"), bad_scope, false).error().code == errc::bad_request);
    CHECK(store->list_tokens(user).value().size() == 1);
}

TEST_CASE_FIXTURE(store_fixture, "only the first token claims a user, however many race for it") {
    REQUIRE(store->create_token(secret_hash("mine"), make_token(user, "first"), true));
    CHECK(store->create_token(secret_hash("theirs"), make_token(user, "second"), true).error().code ==
          errc::forbidden);
    CHECK_FALSE(store->find_token(secret_hash("theirs")).value());

    auto contested = make_id(0x77);
    constexpr int claimants = 8;
    std::atomic<int> won{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < claimants; ++i)
        threads.emplace_back([&, i] {
            auto r = store->create_token(secret_hash("claim " + std::to_string(i)),
                                         make_token(contested, "t" + std::to_string(i)), true);
            if (r) ++won;
            else if (r.error().code == errc::forbidden) ++refused;
        });
    for (auto& t : threads) t.join();
    CHECK(won == 1);
    CHECK(refused == claimants - 1);
    CHECK(store->list_tokens(contested).value().size() == 1);
}

TEST_CASE_FIXTURE(store_fixture, "a user's own quota overrides the default until set back to null") {
    CHECK_FALSE(store->user_quota(user).value());
    CHECK(store->quota_in_force(user).value() == 0);

    store.reset();
    auto options = test::store_options_for(dir.path() / "db");
    options.default_quota_bytes = 1000;
    store = storage::log_store::open(options).value();
    CHECK(store->quota_in_force(user).value() == 1000);

    REQUIRE(store->set_quota(user, 5000));
    CHECK(store->user_quota(user).value() == std::optional<std::uint64_t>(5000));
    CHECK(store->quota_in_force(user).value() == 5000);
    CHECK(store->quota_in_force(make_id(0x55)).value() == 1000);

    REQUIRE(store->set_quota(user, 0));  // no limit for this user
    CHECK(store->user_quota(user).value() == std::optional<std::uint64_t>(0));
    CHECK(store->quota_in_force(user).value() == 0);

    REQUIRE(store->set_quota(user, std::nullopt));
    CHECK_FALSE(store->user_quota(user).value());
    CHECK(store->quota_in_force(user).value() == 1000);
    REQUIRE(store->set_quota(user, std::nullopt));  // idempotent
}

TEST_CASE_FIXTURE(store_fixture, "delete_user keeps the user's tokens and quota") {
    auto t = make_token(user, "keep");
    REQUIRE(store->create_token(secret_hash("k"), t, true));
    REQUIRE(store->set_quota(user, 1234));
    add_chunk("data");
    add_transaction(make_id(1), root_id);

    REQUIRE(store->delete_user(user));
    CHECK(store->summary(user).value().chunks == 0);
    CHECK(store->find_token(secret_hash("k")).value() == std::optional<token_record>(t));
    CHECK(store->list_tokens(user).value() == std::vector{t});
    CHECK(store->user_quota(user).value() == std::optional<std::uint64_t>(1234));
    // The user id stays claimed.
    CHECK(store->create_token(secret_hash("other"), make_token(user, "x"), true).error().code == errc::forbidden);

    reopen();
    CHECK(store->list_tokens(user).value() == std::vector{t});
    CHECK(store->user_quota(user).value() == std::optional<std::uint64_t>(1234));
}

TEST_CASE_FIXTURE(store_fixture, "list_users names users with data, tokens or a quota once each, in id order") {
    CHECK(store->list_users(std::nullopt, 10).value().empty());

    auto low = user_from_bytes({0x00}, 0x00);       // the smallest id: ROOT's bytes
    auto with_data = user_from_bytes({0x10}, 0x01);
    auto with_token = user_from_bytes({0x20}, 0x02);
    auto with_quota = user_from_bytes({0x30}, 0x03);
    auto with_all = user_from_bytes({0x7f}, 0xff);  // 0x7f... then 0x80...: signed-char order would swap them
    auto high = user_from_bytes({0x80}, 0x00);
    auto last = user_from_bytes({}, 0xff);
    auto deleted = user_from_bytes({0x40}, 0x04);

    add_chunk("low", low);
    for (int i = 0; i < 50; ++i) add_chunk("data " + std::to_string(i), with_data);  // many keys, one user
    REQUIRE(store->create_token(secret_hash("a"), make_token(with_token, "a"), false));
    REQUIRE(store->create_token(secret_hash("b"), make_token(with_token, "b"), false));
    REQUIRE(store->set_quota(with_quota, 10));
    add_chunk("all", with_all);
    REQUIRE(store->create_token(secret_hash("c"), make_token(with_all, "c"), false));
    REQUIRE(store->set_quota(with_all, 0));
    REQUIRE(store->put_transaction(high, {make_id(1), root_id, std::nullopt, {}}));
    REQUIRE(store->set_quota(last, 1));
    add_chunk("gone", deleted);
    REQUIRE(store->delete_user(deleted));

    std::vector<uuid> everyone{low, with_data, with_token, with_quota, with_all, high, last};
    CHECK(store->list_users(std::nullopt, 100).value() == everyone);
    CHECK(store->list_users(std::nullopt, 0).value().empty());
    CHECK(store->list_users(std::nullopt, 2).value() == std::vector{low, with_data});
    CHECK(store->list_users(with_data, 3).value() == std::vector{with_token, with_quota, with_all});
    CHECK(store->list_users(with_all, 100).value() == std::vector{high, last});
    CHECK(store->list_users(deleted, 1).value() == std::vector{with_all});  // `after` need not be a user
    CHECK(store->list_users(last, 100).value().empty());

    // Paging through one at a time gives the same list.
    std::vector<uuid> paged;
    std::optional<uuid> after;
    for (;;) {
        auto page = store->list_users(after, 1).value();
        if (page.empty()) break;
        paged.push_back(page[0]);
        after = page[0];
    }
    CHECK(paged == everyone);

    reopen();
    CHECK(store->list_users(std::nullopt, 100).value() == everyone);
}

TEST_CASE("a store created before the accounts family opens and gains it") {
    test::temp_dir dir;
    auto path = (dir.path() / "db").string();
    auto user = make_id(0x42);
    auto chunk = std::string("old data");
    {
        // The two families of earlier versions, written the way they were.
        rocksdb::DBOptions db_options;
        db_options.create_if_missing = true;
        db_options.create_missing_column_families = true;
        std::vector<rocksdb::ColumnFamilyDescriptor> families{{rocksdb::kDefaultColumnFamilyName, {}},
                                                              {"chunks", {}}};
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(db_options, path, families, &handles, &raw).ok());
        std::unique_ptr<rocksdb::DB> db(raw);
        std::string size;
        keys::put_be64(size, chunk.size());
        REQUIRE(db->Put({}, handles[1], keys::chunk(user, sha256_of(chunk)), chunk).ok());
        REQUIRE(db->Put({}, handles[0], keys::chunk_size(user, sha256_of(chunk)), size).ok());
        for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
        REQUIRE(db->Close().ok());
    }
    auto store = storage::log_store::open({dir.path() / "db"}).value();
    CHECK(store->chunk(user, sha256_of(chunk)).value() == std::optional<std::string>(chunk));
    CHECK(store->list_users(std::nullopt, 10).value() == std::vector{user});
    REQUIRE(store->create_token(secret_hash("new"), make_token(user, "new"), true));
    CHECK(store->list_tokens(user).value().size() == 1);
}

}
