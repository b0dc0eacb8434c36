// head_watch: wakers handed to their group's thread in one post per group
// and notification, with HEAD when the notifier gave it, waiters of no known
// group woken where notified, and groups forgotten with their waiters.
#include "api/head_watch.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <vector>

using chunklog::api::head_watch;
using chunklog::head_state;
using chunklog::uuid;

namespace {

// A group whose "thread" is a queue the test runs by hand.
struct fake_thread {
    std::vector<std::function<void()>> posted;
    head_watch::poster poster() {
        return [this](std::function<void()> f) { posted.push_back(std::move(f)); };
    }
    void run() {
        auto now = std::move(posted);
        posted.clear();
        for (auto& f : now) f();
    }
};

}  // namespace

TEST_SUITE("head_watch") {

TEST_CASE("one notification posts once to each group, and every waker of the user runs there once") {
    head_watch watch;
    fake_thread a, b;
    watch.add_group(&a, a.poster());
    watch.add_group(&b, b.poster());
    auto user = uuid::random(), other = uuid::random();
    int woken_a = 0, woken_b = 0, woken_other = 0;
    for (int i = 0; i < 500; ++i) {
        watch.subscribe(user, &a, [&](const head_state*) { ++woken_a; });
        watch.subscribe(user, &b, [&](const head_state*) { ++woken_b; });
    }
    watch.subscribe(other, &a, [&](const head_state*) { ++woken_other; });
    CHECK(watch.waiting() == 1001);

    watch.notify(user);
    CHECK(a.posted.size() == 1);
    CHECK(b.posted.size() == 1);
    CHECK(woken_a == 0);  // nothing runs on the notifying thread
    a.run();
    b.run();
    CHECK(woken_a == 500);
    CHECK(woken_b == 500);
    CHECK(woken_other == 0);
    CHECK(watch.waiting() == 1);

    watch.notify(user);  // nobody waits any more
    CHECK(a.posted.empty());
    watch.notify_all();
    a.run();
    CHECK(woken_other == 1);
    CHECK(watch.waiting() == 0);
}

TEST_CASE("an unsubscribed waker does not run, one of an unknown group runs where notified") {
    head_watch watch;
    fake_thread a;
    watch.add_group(&a, a.poster());
    auto user = uuid::random();
    int woken = 0, stray = 0;
    auto id = watch.subscribe(user, &a, [&](const head_state*) { ++woken; });
    watch.unsubscribe(user, id);
    int unknown_group = 0;
    watch.subscribe(user, &unknown_group, [&](const head_state*) { ++stray; });
    watch.notify(user);
    CHECK(stray == 1);
    CHECK(a.posted.empty());
    CHECK(woken == 0);
}

TEST_CASE("forgetting the groups drops their waiters: nothing runs for them afterwards") {
    head_watch watch;
    fake_thread a;
    watch.add_group(&a, a.poster());
    auto user = uuid::random();
    int woken = 0;
    watch.subscribe(user, &a, [&](const head_state*) { ++woken; });
    watch.remove_groups();
    CHECK(watch.waiting() == 0);
    watch.notify(user);
    watch.notify_all();
    CHECK(a.posted.empty());
    CHECK(woken == 0);
}

TEST_CASE("a notification's HEAD reaches every waker it wakes, one without HEAD hands them none") {
    head_watch watch;
    fake_thread a, b;
    watch.add_group(&a, a.poster());
    watch.add_group(&b, b.poster());
    auto user = uuid::random();
    const head_state advanced{uuid::random(), 7};
    std::vector<std::optional<head_state>> seen;
    auto record = [&](const head_state* now) { seen.push_back(now ? std::optional(*now) : std::nullopt); };
    for (int i = 0; i < 3; ++i) {
        watch.subscribe(user, &a, record);
        watch.subscribe(user, &b, record);
    }
    int unknown_group = 0;
    watch.subscribe(user, &unknown_group, record);
    watch.notify(user, advanced);
    CHECK(seen.size() == 1);  // the waker of no known group, on this thread
    a.run();
    b.run();
    REQUIRE(seen.size() == 7);
    for (const auto& s : seen) CHECK(s == advanced);

    seen.clear();
    watch.subscribe(user, &a, record);
    watch.subscribe(uuid::random(), &a, record);
    watch.notify(user);
    watch.notify_all();
    a.run();
    REQUIRE(seen.size() == 2);
    for (const auto& s : seen) CHECK_FALSE(s.has_value());
}

}
