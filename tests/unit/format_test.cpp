// The store format (storage/keys.hpp, storage/format.cpp): a directory in
// the format 1 layout (every release before garbage collection), written
// here with raw RocksDB calls, is upgraded in place losing nothing, also
// when an earlier upgrade was cut short; a newer format is refused; and the
// format 2 values round-trip.
#include "support/gc_fixture.hpp"

#include "storage/rocksdb/keys.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <set>

using namespace chunklog;
using chunklog::test::make_id;
using chunklog::test::raw_db;
using namespace std::chrono_literals;
namespace keys = chunklog::storage::keys;

namespace {

digest secret_hash(const std::string& s) { return sha256_of(s); }

// Writes one user's data in the format 1 layout, and remembers its keys.
class format1_writer {
public:
    format1_writer(raw_db& db, const uuid& user) : db_(db), user_(user) {}

    digest chunk(const std::string& bytes) {
        auto id = sha256_of(bytes);
        put(db_.chunks(), keys::chunk(user_, id), bytes);
        std::string size;
        keys::put_be64(size, bytes.size());
        put(db_.meta(), keys::chunk_size(user_, id), size);
        ++count_;
        bytes_ += static_cast<std::int64_t>(bytes.size());
        put(db_.meta(), keys::stats(user_), keys::encode_stats({count_, bytes_}));
        return id;
    }

    void transaction(const uuid& id, const uuid& parent, std::uint64_t seq, std::vector<digest> chunks) {
        put(db_.meta(), keys::transaction(user_, id), keys::encode_transaction({id, parent, seq, std::move(chunks)}));
        put(db_.meta(), keys::child(user_, parent, id), "");
    }

    // Commits the given ids as seq 1, 2, ... and makes the last one HEAD.
    void commit(const std::vector<uuid>& chain) {
        for (std::size_t i = 0; i < chain.size(); ++i)
            put(db_.meta(), keys::chain(user_, i + 1), std::string(chain[i].raw()));
        put(db_.meta(), keys::head(user_), keys::encode_head({chain.back(), chain.size()}));
    }

    const std::set<std::string>& meta_keys() const { return meta_keys_; }

private:
    void put(rocksdb::ColumnFamilyHandle* cf, const std::string& key, const std::string& value) {
        REQUIRE(db_.db().Put({}, cf, key, value).ok());
        if (cf == db_.meta()) meta_keys_.insert(key);
    }

    raw_db& db_;
    uuid user_;
    std::int64_t count_ = 0;
    std::int64_t bytes_ = 0;
    std::set<std::string> meta_keys_;
};

const uuid alice = make_id(0xa11ce);
const uuid bob = make_id(0xb0b0b0);  // after alice in key order

// Alice: a committed chain 1..n (chunk "a i" each, and transaction 2 also
// names chunk "a 1"), pending 9001 on its HEAD, dead 9002 off ROOT with its
// own chunk, a loose chunk, a quota. Bob: one committed transaction and a token.
void write_format1(raw_db& db, unsigned n, format1_writer& a, format1_writer& b) {
    std::vector<uuid> chain;
    uuid parent = root_id;
    for (unsigned i = 1; i <= n; ++i) {
        std::vector<digest> chunks{a.chunk("a " + std::to_string(i))};
        if (i == 2) chunks.push_back(sha256_of("a 1"));
        a.transaction(make_id(i), parent, i, chunks);
        chain.push_back(make_id(i));
        parent = make_id(i);
    }
    a.commit(chain);
    a.transaction(make_id(9001), parent, n + 1, {sha256_of("a 1")});
    a.transaction(make_id(9002), root_id, 1, {a.chunk("dead's chunk")});
    a.chunk("loose");
    REQUIRE(db.db().Put({}, db.accounts(), keys::quota(alice), keys::encode_quota(1 << 20)).ok());

    b.transaction(make_id(1), root_id, 1, {b.chunk("b 1")});
    b.commit({make_id(1)});
    storage::token_record token;
    token.id = "tok";
    token.user = bob;
    token.label = "laptop";
    token.created = 1'600'000'000;
    REQUIRE(db.db().Put({}, db.accounts(), keys::token(secret_hash("bob's secret")), keys::encode_token(token)).ok());
    REQUIRE(db.db()
                .Put({}, db.accounts(), keys::token_index(bob, 1),
                     keys::encode_token_index({secret_hash("bob's secret"), "tok"}))
                .ok());
}

// What must survive the upgrade, checked through the store.
void check_nothing_lost(storage::log_store& store, unsigned n) {
    auto listing = store.list_committed(alice, root_id, 10'000).value();
    CHECK(listing.head == head_state{make_id(n), n});
    REQUIRE(listing.ids.size() == n);
    for (unsigned i = 1; i <= n; ++i) CHECK(listing.ids[i - 1] == make_id(i));
    auto t2 = store.committed_transaction(alice, make_id(2)).value();
    REQUIRE(t2);
    CHECK(t2->chunks == std::vector{sha256_of("a 2"), sha256_of("a 1")});
    CHECK(store.chunk(alice, sha256_of("a 2")).value() == std::optional<std::string>("a 2"));
    CHECK(store.chunk_size(alice, sha256_of("loose")).value() == std::optional<std::uint64_t>(5));
    auto s = store.summary(alice).value();
    CHECK(s.chunks == n + 2);
    CHECK(s.transactions == n);
    CHECK(store.user_quota(alice).value() == std::optional<std::uint64_t>(1 << 20));
    CHECK(store.head(bob).value() == head_state{make_id(1), 1});
    CHECK(store.chunk(bob, sha256_of("b 1")).value() == std::optional<std::string>("b 1"));
    auto token = store.find_token(secret_hash("bob's secret")).value();
    REQUIRE(token);
    CHECK(token->label == "laptop");
    CHECK(store.list_tokens(bob).value().size() == 1);
    CHECK(store.list_users(std::nullopt, 10).value() == std::vector{alice, bob});
    // Pending and dead transactions are still there (a retry is 200).
    CHECK(store.put_transaction(alice, {make_id(9001), make_id(n), std::nullopt, {sha256_of("a 1")}}).value().result ==
          storage::insert_result::already_present);
    CHECK(store.put_transaction(alice, {make_id(9002), root_id, std::nullopt, {sha256_of("dead's chunk")}})
              .value()
              .result == storage::insert_result::already_present);
}

}  // namespace

TEST_SUITE("format") {

TEST_CASE_FIXTURE(test::gc_fixture, "a format 1 store is upgraded in place, losing nothing, in several batches") {
    store.reset();
    std::filesystem::remove_all(options.dir);
    const unsigned n = 700;  // with its chunks and children entries, more keys than one upgrade batch
    {
        raw_db db(options.dir);
        format1_writer a(db, alice), b(db, bob);
        write_format1(db, n, a, b);
    }
    reopen();
    check_nothing_lost(*store, n);
    check_invariants();  // the current format recorded, references and the uncommitted index exact

    // The pending transaction can still be published.
    CHECK(store->advance_head(alice, make_id(9001)));
    // Times start at the upgrade: nothing goes before the grace period has passed since.
    pass_time(59min);
    CHECK(collect().transactions == 0);
    pass_time(2min);
    auto r = collect();
    CHECK(r.transactions == 1);  // the dead one
    CHECK(r.chunks == 2);        // its chunk and the loose one
    CHECK(store->chunk(alice, sha256_of("a 1")).value());
    check_invariants();
    reopen();
    CHECK(store->head(alice).value() == head_state{make_id(9001), n + 1});
}

TEST_CASE_FIXTURE(test::gc_fixture, "an upgrade cut short resumes after the last key it converted") {
    store.reset();
    std::filesystem::remove_all(options.dir);
    {
        raw_db db(options.dir);
        format1_writer a(db, alice), b(db, bob);
        write_format1(db, 5, a, b);
        // Alice's keys were converted by the upgrade that stopped: exactly as
        // storage/format.cpp converts them, then its cursor.
        rocksdb::WriteBatch batch;
        std::map<digest, std::int64_t> references;
        for (const auto& key : a.meta_keys()) {
            auto value = db.get(db.meta(), key).value();
            switch (*keys::key_tag(key)) {
            case keys::tag::chunk_size:
                batch.Put(db.meta(), key, keys::encode_chunk_meta({keys::get_be64(value), clock->load()}));
                break;
            case keys::tag::chain:
                batch.Put(db.meta(), key, keys::encode_chain_entry({*uuid::from_bytes(value), clock->load()}));
                break;
            case keys::tag::transaction: {
                auto id = *uuid::from_bytes(std::string_view(key).substr(uuid::size + 1));
                auto t = *keys::decode_transaction(id, value);
                if (id == make_id(9001) || id == make_id(9002))
                    batch.Put(db.meta(), keys::uncommitted(alice, id), keys::encode_time(clock->load()));
                for (const auto& c : std::set<digest>(t.chunks.begin(), t.chunks.end())) ++references[c];
                break;
            }
            default: break;
            }
        }
        for (const auto& [c, count] : references)
            batch.Merge(db.meta(), keys::references(alice, c), keys::encode_references(count));
        batch.Put(db.accounts(), keys::upgrade_cursor(), *a.meta_keys().rbegin());
        rocksdb::WriteOptions sync;
        sync.sync = true;
        REQUIRE(db.db().Write(sync, &batch).ok());
    }
    reopen();
    check_nothing_lost(*store, 5);
    check_invariants();  // alice's references counted once, bob's converted
}

TEST_CASE_FIXTURE(test::gc_fixture, "a directory of a newer store format is refused, unchanged") {
    store.reset();
    {
        raw_db db(options.dir, {"from_the_future"});
        REQUIRE(db.db().Put({}, db.accounts(), keys::format_version(), keys::encode_u64(keys::current_format + 1)).ok());
    }
    auto opened = storage::log_store::open(options);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find("newer") != std::string::npos);
    CHECK(opened.error().message.find("format " + std::to_string(keys::current_format + 1)) != std::string::npos);
    CHECK(opened.error().message.find(options.dir.string()) != std::string::npos);
    raw_db db(options.dir, {"from_the_future"});
    CHECK(db.get(db.accounts(), keys::format_version()) == keys::encode_u64(keys::current_format + 1));
}

TEST_CASE_FIXTURE(test::gc_fixture, "a new directory starts at the current format") {
    chunk("x");
    store.reset();
    {
        raw_db db(options.dir);
        CHECK(db.get(db.accounts(), keys::format_version()) == keys::encode_u64(keys::current_format));
        CHECK(db.get(db.accounts(), keys::upgrade_cursor()) == std::nullopt);
        auto meta = keys::decode_chunk_meta(db.get(db.meta(), keys::chunk_size(user, sha256_of("x"))).value());
        REQUIRE(meta);
        CHECK(meta->size == 1);
        CHECK(meta->stored == clock->load());
    }
    reopen();
    CHECK(has_chunk("x"));
}

TEST_CASE("format 2 values round-trip and their keys stay in the user's range") {
    auto user = *uuid::parse("7fffffff-ffff-ffff-ffff-ffffffffffff");
    auto id = *uuid::parse("ffffffff-ffff-ffff-ffff-ffffffffffff");
    digest all_ff{[] { digest::bytes_type b; b.fill(0xff); return b; }()};
    for (const auto& key : {keys::references(user, all_ff), keys::uncommitted(user, id), keys::snapshot(user),
                            keys::history_from(user)}) {
        CHECK(key >= keys::user_begin(user));
        CHECK(key < keys::user_end(user));
        CHECK(keys::key_user(key) == std::optional<uuid>(user));
    }
    CHECK(keys::key_tag(keys::uncommitted(user, id)) == keys::tag::uncommitted);
    CHECK_FALSE(keys::key_tag(std::string(user.raw())));

    keys::chunk_meta c{12345, -7};
    CHECK(keys::decode_chunk_meta(keys::encode_chunk_meta(c)) == c);
    CHECK_FALSE(keys::decode_chunk_meta("12345678"));  // format 1: the size alone
    keys::chain_entry e{id, 1'700'000'000'000};
    CHECK(keys::decode_chain_entry(keys::encode_chain_entry(e)) == e);
    CHECK_FALSE(keys::decode_chain_entry(std::string(id.raw())));  // format 1: the id alone
    storage::snapshot_record s{id, 42, 1'700'000'000'123, {all_ff, digest{}, all_ff}};
    CHECK(keys::decode_snapshot(keys::encode_snapshot(s)) == s);
    s.chunks.clear();
    CHECK(keys::decode_snapshot(keys::encode_snapshot(s)) == s);
    CHECK_FALSE(keys::decode_snapshot("short"));
    CHECK(keys::decode_u64(keys::encode_u64(~0ULL)) == std::optional<std::uint64_t>(~0ULL));
    CHECK(keys::decode_time(keys::encode_time(-5)) == std::optional<std::int64_t>(-5));
    CHECK(keys::decode_references(keys::encode_references(-3)) == -3);
    CHECK(keys::decode_references("") == 0);
}

}  // TEST_SUITE
