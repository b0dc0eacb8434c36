// End-to-end: a real full disk. The data directory lives on a small tmpfs
// (mounting needs root: CI runs as root; elsewhere the test says why it
// skips). The server fills it through the API until 507, keeps serving
// reads, reports 503 on /healthz, and takes writes again by itself once
// space is freed; nothing acknowledged is lost, before or after a restart.
#include "support/protocol.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <doctest/doctest.h>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <random>

using namespace chunklog::test;

namespace {

constexpr std::size_t disk_mib = 96;
constexpr std::size_t ballast_mib = 56;  // freed later: enough for RocksDB to flush what it holds
constexpr std::size_t chunk_bytes = 512 * 1024;

// A tmpfs mounted for the life of the object.
class small_disk {
public:
    small_disk(const std::filesystem::path& at, std::size_t mib) : at_(at) {
        std::filesystem::create_directories(at);
        auto options = "size=" + std::to_string(mib) + "m";
        if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) != 0) why_not_ = std::strerror(errno);
    }
    ~small_disk() {
        if (why_not_.empty()) ::umount2(at_.c_str(), MNT_DETACH);
    }
    small_disk(const small_disk&) = delete;
    small_disk& operator=(const small_disk&) = delete;

    bool mounted() const { return why_not_.empty(); }
    const std::string& why_not() const { return why_not_; }

private:
    std::filesystem::path at_;
    std::string why_not_;
};

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
}

void write_ballast(const std::filesystem::path& file, std::size_t mib) {
    std::ofstream out(file, std::ios::binary);
    std::string block(1 << 20, '\x5a');
    for (std::size_t i = 0; i < mib; ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
    REQUIRE(out.good());
}

}  // namespace

TEST_SUITE("e2e_full_disk") {

TEST_CASE("a full disk: 507 and nothing lost, reads go on, writes resume by themselves once space is free") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: mounting a small tmpfs for the full-disk test needs root (CI runs as root)");
        return;
    }
    temp_dir dir;
    small_disk disk(dir.path() / "disk", disk_mib);
    if (!disk.mounted()) {
        MESSAGE("skipped: cannot mount a tmpfs here: " << disk.why_not());
        return;
    }
    auto ballast = dir.path() / "disk" / "ballast";
    write_ballast(ballast, ballast_mib);
    auto data = dir.path() / "disk" / "db";
    std::mt19937_64 rng(42);
    std::vector<std::string> acknowledged;
    auto user = random_uuid();
    {
        server_process server(data);
        http_connection conn(server.port());
        user_api api(conn, user);
        http_reply refused;
        for (int i = 0; i < 400; ++i) {
            auto bytes = random_bytes(rng, chunk_bytes);
            http_reply r;
            try {
                r = api.put_chunk(bytes);
            } catch (const std::exception& e) {
                FAIL(e.what() << " after " << acknowledged.size() << " chunks; server log:\n" << server.log());
            }
            if (r.status == 201) {
                acknowledged.push_back(bytes);
                continue;
            }
            refused = r;
            break;
        }
        REQUIRE(refused.status == 507);
        CHECK(error_code(refused) == "insufficient_storage");
        CHECK(!acknowledged.empty());

        // Still full: refused at once, health says so, reads go on.
        CHECK(api.put_chunk(random_bytes(rng, 1000)).status == 507);
        auto health = conn.request("GET", "/healthz");
        CHECK(health.status == 503);
        CHECK(text(parse_json(health.body).at("status")) == "no_space");
        for (const auto& bytes : acknowledged) REQUIRE(api.get("/chunks/" + sha256_hex(bytes)).body == bytes);
        CHECK(metric(conn, "chunklog_storage_full_total") >= 2);

        // Space comes back: writes succeed again within 10 s, no restart.
        std::filesystem::remove(ballast);
        auto after = random_bytes(rng, 1000);
        CHECK(wait_until([&] { return api.put_chunk(after).status == 201; }, std::chrono::seconds(10)));
        acknowledged.push_back(after);
        CHECK(conn.request("GET", "/healthz").status == 200);
        CHECK(server.terminate_and_wait(SIGTERM) == 0);
    }
    server_process again(data);
    http_connection conn(again.port());
    user_api api(conn, user);
    for (const auto& bytes : acknowledged) CHECK(api.get("/chunks/" + sha256_hex(bytes)).body == bytes);
}

}  // TEST_SUITE
