// Log lines on stderr: one per request at info level (with its request id),
// and server events. Each line is written with a single call, so lines from
// different threads never interleave. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace chunklog::api {

enum class log_level { debug, info, warn, error };

void set_log_level(log_level level);
bool parse_log_level(std::string_view text, log_level& out);

void log_message(log_level level, std::string_view message);
void log_request(std::uint64_t request_id, std::string_view method, std::string_view target, unsigned status,
                 std::uint64_t bytes_in, std::uint64_t bytes_out, std::chrono::nanoseconds duration);

}  // namespace chunklog::api
