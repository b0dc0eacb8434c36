// decode_operations on arbitrary bytes. It must never crash, and what it
// accepts must survive the chunk format's round trip: encode_operations is
// canonical, so decoding its output gives the same operations back and
// encoding those gives the same bytes again.
#include <chunklog/tasks/operations.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what, const std::string& encoded) {
    std::fprintf(stderr, "operations_fuzz: %s\n  encoded: %s\n", what, encoded.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto ops = chunklog::decode_operations(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!ops) return 0;
    auto encoded = chunklog::encode_operations(*ops);
    auto again = chunklog::decode_operations(encoded);
    if (!again) fail("decode_operations refused what encode_operations wrote", encoded);
    if (*again != *ops) fail("decoding the encoding changed the operations", encoded);
    if (chunklog::encode_operations(*again) != encoded) fail("encode_operations is not canonical", encoded);
    return 0;
}
