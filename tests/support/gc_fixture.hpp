// A log_store on a fresh temp directory with a clock the test moves, for
// garbage collection, history and snapshot tests; helpers to build chains
// and to check the closed store's invariants. Single-threaded set-up; the
// store and the clock are thread-safe.
#pragma once

#include "support/outcome_printer.hpp"
#include "support/store_check.hpp"
#include "support/store_fixture.hpp"
#include "support/temp_dir.hpp"

#include <chunklog/sha256.hpp>
#include <chunklog/storage/log_store.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>

namespace chunklog::test {

using namespace std::chrono_literals;

struct gc_fixture {
    temp_dir dir;
    std::shared_ptr<std::atomic<std::int64_t>> clock = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
    storage::store_options options;
    std::unique_ptr<storage::log_store> store;
    uuid user = make_id(0xabc);

    gc_fixture() {
        options = store_options_for(dir.path() / "db");
        options.clock = [c = clock] { return c->load(); };
        options.gc_grace = 1h;
        reopen();
    }

    void reopen() {
        store.reset();
        auto opened = storage::log_store::open(options);
        REQUIRE(opened);
        store = std::move(*opened);
    }

    void pass_time(std::chrono::milliseconds d) { clock->fetch_add(d.count()); }

    storage::gc_result collect() {
        auto r = store->collect_garbage();
        REQUIRE(r);
        return *r;
    }

    // Closes the store, checks its invariants with raw reads, and reopens it.
    void check_invariants() {
        store.reset();
        auto problems = check_store(options);
        for (const auto& p : problems) FAIL_CHECK(p);
        CHECK(problems.empty());
        reopen();
    }

    digest chunk(const std::string& bytes, const uuid& for_user) {
        auto id = sha256_of(bytes);
        REQUIRE(store->put_chunk(for_user, id, bytes));
        return id;
    }
    digest chunk(const std::string& bytes) { return chunk(bytes, user); }

    void transaction(const uuid& id, const uuid& parent, std::vector<digest> chunks = {}) {
        auto r = store->put_transaction(user, {id, parent, std::nullopt, std::move(chunks)});
        REQUIRE(r);
    }

    // Transactions first..last as a chain under `parent`, one chunk each
    // ("chunk N"), committed up to `last` when `commit` is set.
    void chain(unsigned first, unsigned last, const uuid& parent, bool commit = true) {
        uuid p = parent;
        for (unsigned i = first; i <= last; ++i) {
            transaction(make_id(i), p, {chunk("chunk " + std::to_string(i))});
            p = make_id(i);
        }
        if (commit) REQUIRE(store->advance_head(user, make_id(last)));
    }

    bool has_chunk(const std::string& bytes) { return store->chunk(user, sha256_of(bytes)).value().has_value(); }
    bool has_transaction(const uuid& id) {
        // Any stored transaction, committed or not: re-creating it with
        // another parent is refused while it exists.
        auto r = store->put_transaction(user, {id, make_id(0xdead0000), std::nullopt, {}});
        return !r && r.error().code == errc::transaction_exists;
    }
};

}  // namespace chunklog::test
