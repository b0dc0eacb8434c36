// The error codes of the chunklog protocol (section 5) as one enum with its
// own boost::system category, shared by storage, the HTTP layer and clients.
// Stateless; safe from any thread.
#pragma once

#include <chunklog/ids.hpp>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace chunklog {

enum class errc {
    bad_request = 1,
    invalid_id,
    not_found,
    method_not_allowed,
    unknown_transaction,
    unknown_parent,
    missing_chunks,
    hash_mismatch,
    transaction_exists,
    conflict,
    payload_too_large,
    unauthorized,
    forbidden,
    unavailable,
    internal,
    // Since protocol 0.2.
    too_many_requests,
    quota_exceeded,
    insufficient_storage,
    history_truncated,
    // Client side only, never on the wire: the server could not be reached
    // or the connection broke (after retries).
    network,
    // Client side only, never on the wire: the TLS handshake failed, most
    // often because the server's certificate did not verify (an unknown CA,
    // another host name, expired). Not retried.
    tls_failure,
};

const boost::system::error_category& chunklog_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), chunklog_category()};
}

// The protocol's wire name of a code ("conflict", "missing_chunks", ...).
std::string_view code_name(errc e) noexcept;
// The reverse, for clients reading error bodies: errc::internal for a name
// this version does not know.
errc code_from_name(std::string_view name) noexcept;

}  // namespace chunklog

template <>
struct boost::system::is_error_code_enum<chunklog::errc> : std::true_type {};

namespace chunklog {

// Where a user's snapshot stands (protocol section 8): the committed
// transaction whose state it holds, and that transaction's seq.
struct snapshot_position {
    uuid transaction = root_id;
    std::uint64_t seq = 0;

    friend bool operator==(const snapshot_position&, const snapshot_position&) = default;
};

// An error as the protocol reports it: a code, a human message, and the
// extra fields some codes carry (the current HEAD of a conflict, the chunks a
// transaction lacks, the snapshot to start from when history was truncated).
struct error {
    errc code = errc::internal;
    std::string message;
    std::optional<uuid> head;     // set for errc::conflict
    std::vector<digest> missing;  // set for errc::missing_chunks
    // Set for errc::history_truncated when the server names the user's
    // snapshot (it names none when the snapshot was deleted meanwhile).
    std::optional<snapshot_position> snapshot;
};

// Thrown only by outcome<T>::value() on an error; callers normally test first.
class error_exception : public std::runtime_error {
public:
    explicit error_exception(error e)
        : std::runtime_error(std::string(code_name(e.code)) + ": " + e.message), error_(std::move(e)) {}
    const chunklog::error& details() const noexcept { return error_; }

private:
    chunklog::error error_;
};

// Prints "code: message" (for logs and test failure messages).
std::ostream& operator<<(std::ostream& os, const error& e);

[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <typename T>
using outcome = boost::system::result<T, error>;

inline error make_error(errc code, std::string message) { return error{code, std::move(message), {}, {}, {}}; }

}  // namespace chunklog
