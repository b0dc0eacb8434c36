// TaskChampion's plaintext formats (tasks/taskchampion.hpp): RFC 3339 times
// as TaskChampion prints and parses them, history segments byte-exact
// against the reference's known answer, TaskChampion's batching, and the
// zlib snapshot against its known answer.
#include "support/outcome_printer.hpp"

#include <chunklog/tasks/taskchampion.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace chunklog;

namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

const uuid task = *uuid::parse("56e0be07-c61f-494c-a54c-bdcfdd52d2a7");
const std::string kat_segment =
    R"({"operations":[{"Create":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7"}},{"Update":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7","property":"description","value":"a task","timestamp":"2021-10-11T12:47:07.188090948Z"}}]})";

}  // namespace

TEST_CASE("RFC 3339 times print with as many fractional digits as they need, in UTC") {
    CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339(1'633'956'427'188'090'948) == "2021-10-11T12:47:07.188090948Z");
    CHECK(format_rfc3339(1'633'956'427'188'000'000) == "2021-10-11T12:47:07.188Z");
    CHECK(format_rfc3339(1'633'956'427'188'090'000) == "2021-10-11T12:47:07.188090Z");
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59.999999999Z");
}

TEST_CASE("RFC 3339 times parse with any offset and precision, and malformed ones are refused") {
    CHECK(parse_rfc3339("2021-10-11T12:47:07.188090948Z") == 1'633'956'427'188'090'948);
    CHECK(parse_rfc3339("2021-10-11T14:47:07.188090948+02:00") == 1'633'956'427'188'090'948);
    CHECK(parse_rfc3339("2021-10-11t12:47:07z") == 1'633'956'427'000'000'000);
    CHECK(parse_rfc3339("2021-10-11T12:47:07.1Z") == 1'633'956'427'100'000'000);
    CHECK(parse_rfc3339("2021-10-11T12:47:07.1234567891Z") == 1'633'956'427'123'456'789);
    CHECK(parse_rfc3339("1969-12-31T23:59:59.999999999Z") == -1);
    for (auto bad : {"", "2021-10-11", "2021-10-11T12:47:07", "2021-13-11T12:47:07Z", "2021-02-30T12:47:07Z",
                     "2021-10-11T24:00:00Z", "2021-10-11T12:47:07.Z", "2021-10-11T12:47:07+0200", "2021-10-11T12:47:07Zx",
                     "9999-10-11T12:47:07Z", "+021-10-11T12:47:07Z"})
        CHECK_MESSAGE(!parse_rfc3339(bad), bad);
    for (std::int64_t ns : {0LL, 1LL, 999'999'999LL, 1'700'000'000'123'456'789LL, -86'400'000'000'001LL})
        CHECK(parse_rfc3339(format_rfc3339(ns)) == ns);
}

TEST_CASE("a history segment is TaskChampion's JSON, byte for byte") {
    auto ops = decode_history_segment(kat_segment);
    REQUIRE(ops);
    REQUIRE(ops->size() == 2);
    CHECK((*ops)[0] == operation::create(task));
    CHECK((*ops)[1] == operation::update(task, "description", "a task", 1'633'956'427'188'090'948));
    CHECK(encode_history_segment(*ops) == kat_segment);
    std::vector<operation> more{operation::remove(task), operation::update(task, "due", std::nullopt, 0)};
    CHECK(encode_history_segment(more) ==
          R"({"operations":[{"Delete":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7"}},{"Update":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7","property":"due","value":null,"timestamp":"1970-01-01T00:00:00Z"}}]})");
    CHECK(decode_history_segment(encode_history_segment(more)).value() == more);
}

TEST_CASE("segments TaskChampion would not read are refused, naming the fault") {
    auto why = [](std::string_view text) {
        auto r = decode_history_segment(text);
        return r ? std::string("accepted") : r.error().message;
    };
    CHECK(why("[]").find("not a JSON object") != std::string::npos);
    CHECK(why(R"({"ops":[]})").find("no operations array") != std::string::npos);
    CHECK(why(R"({"operations":[{"Rename":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7"}}]})").find("unknown operation Rename") !=
          std::string::npos);
    CHECK(why(R"({"operations":[{"Create":{"uuid":"nope"}}]})").find("not a UUID") != std::string::npos);
    CHECK(why(R"({"operations":[{"Update":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7","property":"p","value":3,"timestamp":"2021-10-11T12:47:07Z"}}]})")
              .find("not a string or null") != std::string::npos);
    CHECK(why(R"({"operations":[{"Update":{"uuid":"56e0be07-c61f-494c-a54c-bdcfdd52d2a7","property":"p","value":"v","timestamp":"yesterday"}}]})")
              .find("not an RFC 3339 time") != std::string::npos);
    // Lenient where TaskChampion is: upper-case ids, extra fields, a missing value.
    auto lenient = decode_history_segment(
        R"({"operations":[{"Update":{"uuid":"56E0BE07-C61F-494C-A54C-BDCFDD52D2A7","property":"p","timestamp":"2021-10-11T12:47:07Z","x":1}}],"extra":true})");
    REQUIRE(lenient);
    CHECK((*lenient)[0] == operation::update(task, "p", std::nullopt, 1'633'956'427'000'000'000));
}

TEST_CASE("operations are batched into versions of at most 1,000,000 bytes of operation JSON") {
    std::string big(400'000, 'x');
    std::vector<operation> ops;
    for (int i = 0; i < 5; ++i) ops.push_back(operation::update(task, "annotation_" + std::to_string(i), big, i));
    ops.push_back(operation::update(task, "huge", std::string(1'200'000, 'y'), 9));
    auto batches = batch_into_versions(ops);
    REQUIRE(batches.size() == 4);
    CHECK(batches[0].size() == 2);
    CHECK(batches[1].size() == 2);
    CHECK(batches[2].size() == 1);
    CHECK(batches[3].size() == 1);  // one operation over the limit is a version of its own
    CHECK(batch_into_versions(std::vector<operation>{}).empty());
}

TEST_CASE("a snapshot is a zlib stream of the task map, read from the reference's known answer") {
    auto tasks = decode_taskchampion_snapshot(from_hex(
        "789c0dc84b0a80201000d0abc4ac134cfc90b71967342430495b8977cfcd5bbc01c64619a27482ec91843e3509348bc094988d62850efc008e8dde5c7b7e0a78c0ad63bb6187d6b17f6d4d8d8573b960ce1f2bdd1aaf"));
    REQUIRE(tasks);
    CHECK(*tasks == task_set{{task, {{"description", "a task"}, {"status", "pending"}}}});
    auto again = encode_taskchampion_snapshot(*tasks);
    CHECK(again.substr(0, 2) == std::string("\x78\x9c"));
    CHECK(decode_taskchampion_snapshot(again).value() == *tasks);
    CHECK(decode_taskchampion_snapshot(encode_taskchampion_snapshot({})).value().empty());
}

TEST_CASE("broken snapshots are refused") {
    auto good = encode_taskchampion_snapshot({{task, {{"description", "a task"}}}});
    CHECK_FALSE(decode_taskchampion_snapshot("not zlib"));
    CHECK_FALSE(decode_taskchampion_snapshot(good.substr(0, good.size() - 3)));
    CHECK_FALSE(decode_taskchampion_snapshot(good + "trailing"));
    CHECK_FALSE(decode_taskchampion_snapshot(encode_taskchampion_snapshot({}).substr(0, 2)));
}
