#include <chunklog/errors.hpp>

#include <array>
#include <ostream>
#include <string>

namespace chunklog {
namespace {

// Indexed by errc's values (0 is no error).
constexpr std::array<std::string_view, static_cast<std::size_t>(errc::tls_failure) + 1> names{
    "ok",
    "bad_request",
    "invalid_id",
    "not_found",
    "method_not_allowed",
    "unknown_transaction",
    "unknown_parent",
    "missing_chunks",
    "hash_mismatch",
    "transaction_exists",
    "conflict",
    "payload_too_large",
    "unauthorized",
    "forbidden",
    "unavailable",
    "internal",
    "too_many_requests",
    "quota_exceeded",
    "insufficient_storage",
    "history_truncated",
    "network",
    "tls_failure",
};
static_assert(names.back() == "tls_failure", "names: one entry per errc, in order");

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "chunklog"; }
    std::string message(int value) const override {
        if (value <= 0 || value >= static_cast<int>(names.size())) return "unknown chunklog error";
        return std::string(names[static_cast<std::size_t>(value)]);
    }
};

}  // namespace

const boost::system::error_category& chunklog_category() noexcept {
    static const category instance;
    return instance;
}

std::string_view code_name(errc e) noexcept {
    auto index = static_cast<std::size_t>(e);
    return index < names.size() ? names[index] : "internal";
}

errc code_from_name(std::string_view name) noexcept {
    for (std::size_t i = 1; i < names.size(); ++i)
        if (names[i] == name) return static_cast<errc>(i);
    return errc::internal;
}

}  // namespace chunklog

namespace chunklog {

std::ostream& operator<<(std::ostream& os, const error& e) { return os << code_name(e.code) << ": " << e.message; }

void throw_exception_from_error(const error& e, const boost::source_location&) { throw error_exception(e); }

}  // namespace chunklog
