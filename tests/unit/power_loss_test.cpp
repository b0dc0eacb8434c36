// Durability against power loss: a write load through the router on a
// store over fault_fs, then the directory as a power cut would leave it
// (every file cut back to what was synced), reopened. Every acknowledged
// chunk PUT, transaction PUT, HEAD advance and publish must be there. The
// same run with syncing off must lose acknowledged writes, which shows the
// check can fail.
#include "support/requests.hpp"
#include "support/fault_fs.hpp"
#include "support/outcome_printer.hpp"
#include "support/temp_dir.hpp"

#include "api/router.hpp"

#include <chunklog/base64.hpp>
#include <chunklog/sha256.hpp>
#include <chunklog/storage/log_store.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <thread>

using namespace chunklog;

namespace {

// What the router acknowledged (2xx) for one user, in order.
struct acknowledged {
    uuid user = uuid::random();
    std::vector<std::string> chunks;  // bytes
    std::vector<uuid> heads;          // each HEAD acknowledged, the last one final
};

// Chunks from this size on are written to files of their own.
constexpr std::size_t large_chunk_bytes = 5000;

// Chunk, large chunk, transaction, HEAD advance, then one publish of a
// chunk, a transaction and HEAD, repeated.
void write_load(api::router& routes, acknowledged& acked, int rounds) {
    auto base = "/0.1/" + acked.user.to_string();
    auto call = [&](api::http_method m, const std::string& path, std::string body, std::optional<digest> hash) {
        return routes.handle(test::make_request(m, base + path, std::move(body), hash)).status;
    };
    uuid head = root_id;
    for (int i = 0; i < rounds; ++i) {
        auto bytes = "chunk " + std::to_string(i) + " of " + acked.user.to_string();
        auto id = sha256_of(bytes);
        if (call(api::http_method::put, "/chunks/" + id.to_string(), bytes, id) != 201) return;
        acked.chunks.push_back(bytes);
        auto large = std::string(large_chunk_bytes, static_cast<char>('a' + i % 26)) + bytes;  // written to a file
        auto large_id = sha256_of(large);
        if (call(api::http_method::put, "/chunks/" + large_id.to_string(), large, large_id) != 201) return;
        acked.chunks.push_back(large);
        auto tx = uuid::random();
        auto tx_body = R"({"parent":")" + head.to_string() + R"(","chunks":[")" + id.to_string() + R"("]})";
        if (call(api::http_method::put, "/transactions/" + tx.to_string(), tx_body, std::nullopt) != 201) return;
        if (call(api::http_method::put, "/head", R"({"head":")" + tx.to_string() + R"("})", std::nullopt) != 204)
            return;
        acked.heads.push_back(head = tx);

        auto published = "published " + bytes;
        auto pid = sha256_of(published);
        auto ptx = uuid::random();
        auto body = R"({"chunks":[{"id":")" + pid.to_string() + R"(","data":")" + base64_encode(published) +
                    R"("}],"transactions":[{"id":")" + ptx.to_string() + R"(","parent":")" + head.to_string() +
                    R"(","chunks":[")" + pid.to_string() + R"("]}],"head":")" + ptx.to_string() + R"("})";
        if (call(api::http_method::post, "/publish", body, std::nullopt) != 200) return;
        acked.chunks.push_back(published);
        acked.heads.push_back(head = ptx);
    }
}

// Acknowledged writes missing from `store` (0 when everything survived).
std::size_t count_lost(storage::log_store& store, const acknowledged& acked) {
    std::size_t lost = 0;
    for (const auto& bytes : acked.chunks) {
        auto got = store.chunk(acked.user, sha256_of(bytes));
        REQUIRE(got);
        if (*got != std::optional<std::string>(bytes)) ++lost;
    }
    auto chain = store.list_committed(acked.user, root_id, 10'000);
    REQUIRE(chain);
    for (std::size_t i = 0; i < acked.heads.size(); ++i)
        if (i >= chain->ids.size() || chain->ids[i] != acked.heads[i]) ++lost;
    return lost;
}

// Runs the load with `sync_writes`, cuts the power, reopens; acknowledged writes lost.
std::size_t lost_after_power_cut(bool sync_writes) {
    test::temp_dir dir;
    auto fs = std::make_shared<test::fault_fs>();
    auto env = rocksdb::NewCompositeEnv(fs);
    std::vector<acknowledged> acked(4);
    {
        storage::store_options options{dir.path() / "db"};
        options.env = env.get();
        options.sync_writes = sync_writes;
        options.chunk_file_bytes = large_chunk_bytes;
        auto store = storage::log_store::open(options).value();
        api::metrics counters;
        api::router routes(*store, {}, counters);
        std::vector<std::thread> writers;
        for (auto& a : acked) writers.emplace_back(write_load, std::ref(routes), std::ref(a), 25);
        for (auto& w : writers) w.join();
        for (const auto& a : acked) REQUIRE(a.heads.size() == 50);  // every write was acknowledged
        fs->copy_after_power_loss(dir.path() / "db", dir.path() / "after");
        fs->fail = true;  // the machine is off: closing writes nothing more
    }
    auto reopened = storage::log_store::open({dir.path() / "after"});
    REQUIRE(reopened);
    std::size_t lost = 0;
    for (const auto& a : acked) lost += count_lost(**reopened, a);
    return lost;
}

}  // namespace

TEST_SUITE("power_loss") {

TEST_CASE("every acknowledged write survives a power cut") {
    CHECK(lost_after_power_cut(true) == 0);
}

TEST_CASE("with syncing off a power cut loses acknowledged writes, so the check above can fail") {
    CHECK(lost_after_power_cut(false) > 0);
}

}
