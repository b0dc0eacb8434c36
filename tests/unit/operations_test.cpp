// Task operations: every transform rule, its convergence property on
// random pairs, and the chunk format.
#include "support/outcome_printer.hpp"

#include <chunklog/tasks/operations.hpp>

#include <doctest/doctest.h>

#include <random>

using namespace chunklog;

namespace {

const uuid t1 = *uuid::parse("11111111-1111-4111-8111-111111111111");
const uuid t2 = *uuid::parse("22222222-2222-4222-8222-222222222222");

operation upd(const uuid& t, std::string p, std::optional<std::string> v, std::int64_t ts) {
    return operation::update(t, std::move(p), std::move(v), ts);
}

using pair = std::pair<std::optional<operation>, std::optional<operation>>;

// The convergence property of transform: both orders reach one state.
void check_converges(const task_set& start, const operation& a, const operation& b) {
    auto [a2, b2] = transform(a, b);
    task_set left = start, right = start;
    apply_operation(left, a);
    if (b2) apply_operation(left, *b2);
    apply_operation(right, b);
    if (a2) apply_operation(right, *a2);
    CHECK(left == right);
}

}  // namespace

TEST_SUITE("operations") {

TEST_CASE("apply: create is idempotent, delete removes, updates of missing tasks are dropped") {
    task_set tasks;
    apply_operation(tasks, operation::create(t1));
    apply_operation(tasks, upd(t1, "description", "x", 1));
    apply_operation(tasks, operation::create(t1));
    CHECK(tasks.at(t1).at("description") == "x");
    apply_operation(tasks, upd(t1, "description", std::nullopt, 2));
    CHECK(tasks.at(t1).empty());
    apply_operation(tasks, upd(t2, "description", "ghost", 3));
    CHECK_FALSE(tasks.contains(t2));
    apply_operation(tasks, operation::remove(t1));
    CHECK(tasks.empty());
}

TEST_CASE("transform rules") {
    auto create = operation::create(t1);
    auto remove = operation::remove(t1);
    auto u1 = upd(t1, "status", "done", 10);
    CHECK(transform(create, create) == pair{std::nullopt, std::nullopt});
    CHECK(transform(remove, remove) == pair{std::nullopt, std::nullopt});
    CHECK(transform(create, remove) == pair{create, std::nullopt});
    CHECK(transform(remove, create) == pair{std::nullopt, create});
    CHECK(transform(u1, create) == pair{u1, std::nullopt});
    CHECK(transform(create, u1) == pair{std::nullopt, u1});
    SUBCASE("update after delete is dropped, whichever side asks") {
        CHECK(transform(u1, remove) == pair{std::nullopt, remove});
        CHECK(transform(remove, u1) == pair{remove, std::nullopt});
    }
    SUBCASE("concurrent updates of one property: the later timestamp wins") {
        auto later = upd(t1, "status", "pending", 20);
        CHECK(transform(u1, later) == pair{std::nullopt, later});
        CHECK(transform(later, u1) == pair{later, std::nullopt});
    }
    SUBCASE("equal timestamps: the server's update wins, whatever the values") {
        auto a = upd(t1, "p", "apple", 5), b = upd(t1, "p", "banana", 5), gone = upd(t1, "p", std::nullopt, 5);
        CHECK(transform(a, b) == pair{a, std::nullopt});
        CHECK(transform(b, a) == pair{b, std::nullopt});
        CHECK(transform(gone, a) == pair{gone, std::nullopt});
        CHECK(transform(a, gone) == pair{a, std::nullopt});
    }
    SUBCASE("the same value twice needs nothing more") {
        CHECK(transform(u1, upd(t1, "status", "done", 99)) == pair{std::nullopt, std::nullopt});
    }
    SUBCASE("different properties or tasks do not interact") {
        auto other = upd(t1, "priority", "H", 1);
        CHECK(transform(u1, other) == pair{u1, other});
        CHECK(transform(u1, operation::remove(t2)) == pair{u1, operation::remove(t2)});
    }
}

TEST_CASE("transform converges on random pairs of operations") {
    std::mt19937 rng(7);
    const std::vector<uuid> ids{t1, t2};
    const std::vector<std::string> props{"a", "b"};
    const std::vector<std::optional<std::string>> values{std::nullopt, "x", "y"};
    auto random_op = [&]() {
        auto id = ids[rng() % ids.size()];
        switch (rng() % 4) {
        case 0: return operation::create(id);
        case 1: return operation::remove(id);
        default: return upd(id, props[rng() % props.size()], values[rng() % values.size()], rng() % 3);
        }
    };
    for (int i = 0; i < 5000; ++i) {
        task_set start;
        if (rng() % 2) start[t1] = {{"a", "x"}};
        if (rng() % 2) start[t2] = {};
        auto a = random_op(), b = random_op();
        // Operations a replica can issue: it creates only fresh ids, and
        // updates or deletes only tasks it has.
        auto possible = [&](const operation& op) {
            return op.type == operation::kind::create ? !start.contains(op.task) : start.contains(op.task);
        };
        if (!possible(a) || !possible(b)) continue;
        check_converges(start, a, b);
    }
}

TEST_CASE("operation chunks (the legacy format) round-trip and are versioned") {
    // The chunk format's timestamps are milliseconds.
    std::vector<operation> ops{operation::create(t1), upd(t1, "description", "milk", 1700000000123'000'000),
                               upd(t1, "priority", std::nullopt, 5'000'000), operation::remove(t2)};
    auto chunk = encode_operations(ops);
    CHECK(chunk.find("\"format\":\"chunklog-task-ops\"") != std::string::npos);
    CHECK(chunk.find("\"version\":1") != std::string::npos);
    CHECK(decode_operations(chunk).value() == ops);
    CHECK(decode_operations(encode_operations({})).value().empty());
    CHECK(decode_operations("not json").error().code == errc::bad_request);
    CHECK_FALSE(decode_operations(R"({"format":"chunklog-task-ops","version":2,"operations":[]})"));
    CHECK_FALSE(decode_operations(R"({"format":"other","version":1,"operations":[]})"));
    CHECK_FALSE(decode_operations(R"({"format":"chunklog-task-ops","version":1,"operations":[{"op":"fly","task":"x"}]})"));
}

}
