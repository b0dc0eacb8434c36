// pg: a thin layer over libpq for the PostgreSQL store. A connection runs
// parameterized statements with binary parameters and results, each
// prepared once per connection (parsed and planned once); a result
// reads typed values; errors become chunklog errors by SQLSTATE (a lost
// connection or a database shutting down: unavailable; a full disk:
// insufficient_storage; serialization failures and deadlocks: retryable).
// A connection is used by one thread at a time; results are plain values.
#pragma once

#include <chunklog/errors.hpp>
#include <chunklog/ids.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace chunklog::storage::pg {

// The parameters of one statement, in order ($1, $2, ...).
class params {
public:
    params& add(const uuid& id);                   // uuid
    params& add(const digest& id);                 // bytea
    params& add_bytes(std::string_view bytes);     // bytea
    params& add(std::int64_t value);               // int8
    params& add(std::uint64_t value) { return add(static_cast<std::int64_t>(value)); }
    params& add_text(std::string_view text);       // text
    params& add_null();
    params& add(const std::optional<std::int64_t>& value) { return value ? add(*value) : add_null(); }
    params& add_bytes_array(std::span<const std::string_view> elements);  // bytea[]
    params& add_array(std::span<const std::int64_t> elements);            // int8[]

    int size() const { return static_cast<int>(values_.size()); }
    const unsigned* types() const { return types_.data(); }
    const int* formats() const { return formats_.data(); }
    const int* lengths() const { return lengths_.data(); }
    std::vector<const char*> pointers() const;

private:
    params& push(std::string value, unsigned type, int format, bool null = false);
    // A one-dimensional array in the binary format of array_send.
    params& push_array(unsigned array_type, unsigned element_type, std::span<const std::string> elements);
    std::vector<std::string> values_;
    std::vector<bool> nulls_;
    std::vector<unsigned> types_;
    std::vector<int> formats_;
    std::vector<int> lengths_;
};

// The rows of a statement (binary format).
class result {
public:
    explicit result(pg_result* r);
    ~result();
    result(result&& other) noexcept;
    result& operator=(result&& other) noexcept;

    int rows() const;
    std::size_t affected() const;  // rows an INSERT, UPDATE or DELETE touched
    bool null(int row, int col) const;
    std::string_view bytes(int row, int col) const;
    std::string text(int row, int col) const { return std::string(bytes(row, col)); }
    std::int64_t i64(int row, int col) const;
    std::int32_t i32(int row, int col) const;
    std::int16_t i16(int row, int col) const;
    bool boolean(int row, int col) const;
    outcome<uuid> id(int row, int col) const;
    outcome<digest> hash(int row, int col) const;
    std::optional<std::int64_t> optional_i64(int row, int col) const;

private:
    pg_result* r_;
};

// An error from libpq, with its SQLSTATE ("" when the connection broke).
struct failure {
    std::string sqlstate;
    std::string message;
};

// A serialization failure or a deadlock: the transaction may be tried again.
bool retryable(const failure& f);
// What a request answers for `f`.
error to_error(const failure& f);

class connection {
public:
    // Connects with `conninfo` (a libpq string or URI).
    static outcome<std::unique_ptr<connection>> open(const std::string& conninfo);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Runs one statement. A failure is returned as an error and kept as
    // last_failure() (for the transaction runner's retry decision).
    outcome<result> run(const char* sql, const params& p = params{});
    // Runs a script of statements without parameters.
    outcome<void> run_script(const std::string& sql);
    const std::optional<failure>& last_failure() const { return last_failure_; }
    void clear_failure() { last_failure_.reset(); }

    // A notification to send once the current transaction has committed
    // (the pool hands them on after COMMIT; a rollback drops them). Sent
    // from inside, NOTIFY would make every such commit wait for the one
    // before it: PostgreSQL serializes the commits of notifying transactions.
    using notification = std::pair<std::string, std::string>;  // channel, payload
    void notify_after_commit(std::string channel, std::string payload) {
        after_commit_.emplace_back(std::move(channel), std::move(payload));
    }
    void drop_notifications() { after_commit_.clear(); }
    std::vector<notification> take_notifications() { return std::exchange(after_commit_, {}); }
    // The server is gone or the connection broke: discard it.
    bool broken() const;
    int socket() const;
    pg_conn* raw() { return conn_; }

private:
    explicit connection(pg_conn* c) : conn_(c) {}
    error fail(pg_result* r);
    // The name of `sql` prepared on this connection (prepared on first use).
    outcome<const std::string*> prepared(const char* sql, const params& p);

    pg_conn* conn_;
    std::optional<failure> last_failure_;
    std::unordered_map<std::string, std::string> prepared_;  // statement text -> name
    std::vector<notification> after_commit_;
};

}  // namespace chunklog::storage::pg
