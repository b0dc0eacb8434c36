// Boost's assertion handler for the fuzz build. scripts/fuzz.sh compiles
// everything with BOOST_ENABLE_ASSERT_HANDLER and without NDEBUG, so every
// BOOST_ASSERT in Beast, Asio, JSON and URL code (in the targets and in the
// chunklog libraries they link) reports here and aborts, which libFuzzer
// records as a crash. One Beast assertion that is itself wrong is skipped.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {
namespace {

// Beast 1.81 asserts `n >= 5` when parse_chunk_header resumes after the last
// chunk "0\r\n" with fewer than two more bytes buffered, which a client
// sending small segments causes; the code after it handles that case (it
// asks for more bytes), as release builds (NDEBUG) do. Fixed by
// boostorg/beast#2861 (Boost 1.86).
bool known_wrong(std::string_view expr, std::string_view function) {
    return expr == "n >= 5" && function.find("parse_chunk_header") != std::string_view::npos;
}

}  // namespace

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
    if (known_wrong(expr, function)) return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file, long line) {
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
    std::abort();
}

}  // namespace boost
