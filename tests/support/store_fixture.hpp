// A log_store (the tests' store: support/test_store.hpp) on a fresh temp directory, with helpers to build ids and
// transactions quickly, for storage and router tests. Single-threaded set-up;
// the store itself is thread-safe.
#pragma once

#include "support/outcome_printer.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

#include <chunklog/storage/log_store.hpp>

#include <chunklog/sha256.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>

namespace chunklog::test {

inline uuid make_id(unsigned n) {
    char text[40];
    std::snprintf(text, sizeof text, "%08x-0000-4000-8000-000000000000", n);
    return *uuid::parse(text);
}

struct store_fixture {
    temp_dir dir;
    std::unique_ptr<storage::log_store> store;
    uuid user = make_id(0xabc);

    store_fixture() { reopen(); }

    void reopen() {
        store.reset();
        auto opened = storage::log_store::open(store_options_for(dir.path() / "db"));
        REQUIRE(opened.has_value());
        store = std::move(*opened);
    }

    digest add_chunk(const std::string& bytes, const uuid& for_user) {
        auto id = sha256_of(bytes);
        REQUIRE(store->put_chunk(for_user, id, bytes));
        return id;
    }
    digest add_chunk(const std::string& bytes) { return add_chunk(bytes, user); }

    void add_transaction(const uuid& id, const uuid& parent, std::vector<digest> chunks = {}) {
        auto r = store->put_transaction(user, {id, parent, std::nullopt, std::move(chunks)});
        REQUIRE(r);
    }

    // Creates transactions first..last as a chain under `parent`.
    void add_chain(unsigned first, unsigned last, const uuid& parent) {
        uuid p = parent;
        for (unsigned i = first; i <= last; ++i) {
            add_transaction(make_id(i), p);
            p = make_id(i);
        }
    }
};

}  // namespace chunklog::test
