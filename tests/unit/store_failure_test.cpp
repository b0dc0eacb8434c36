// A write failure on disk (injected through test::fault_fs)
// makes the store refuse writes from then on, and /healthz report it.
#include "support/requests.hpp"
#include "support/fault_store.hpp"
#include "support/outcome_printer.hpp"

#include "api/error_response.hpp"
#include "api/router.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/log_store.hpp>

#include <doctest/doctest.h>

using namespace chunklog;

TEST_SUITE("store_failure") {

TEST_CASE("after a failed synced write the store refuses writes and healthz is 503") {
    test::fault_store_dir faulty;
    auto& fs = faulty.fs;
    auto store = storage::log_store::open(faulty.options).value();
    api::metrics counters;
    api::router routes(*store, {}, counters);
    auto user = *uuid::parse("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");

    REQUIRE(store->put_chunk(user, sha256_of("before"), "before"));
    CHECK(routes.handle(test::make_request(api::http_method::get, "/healthz")).status == 200);

    fs->fail = true;
    auto failed = store->put_chunk(user, sha256_of("during"), "during");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == errc::unavailable);
    fs->fail = false;

    CHECK_FALSE(store->writable());
    CHECK(store->put_chunk(user, sha256_of("after"), "after").error().code == errc::unavailable);
    CHECK(store->advance_head(user, root_id).error().code == errc::unavailable);
    auto health = routes.handle(test::make_request(api::http_method::get, "/healthz"));
    CHECK(health.status == 503);
    CHECK(health.body.find("\"error\":\"unavailable\"") != std::string::npos);
    auto put = routes.handle(test::make_request(
        api::http_method::put, "/0.1/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/chunks/" + sha256_of("x").to_string(), "x"));
    CHECK(put.status == 503);
    // Reads still work.
    CHECK(store->chunk(user, sha256_of("before")).value());
    store.reset();
}

}
