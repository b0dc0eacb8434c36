#include "api/request_log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

namespace chunklog::api {
namespace {

std::atomic<log_level> current_level{log_level::info};

constexpr std::string_view level_name(log_level level) {
    switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warn: return "warn";
    case log_level::error: return "error";
    }
    return "info";
}

std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return text;
}

void emit(log_level level, std::string_view text) {
    std::string line = timestamp();
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += text;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

void set_log_level(log_level level) { current_level.store(level); }

bool parse_log_level(std::string_view text, log_level& out) {
    for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error})
        if (text == level_name(level)) {
            out = level;
            return true;
        }
    return false;
}

void log_message(log_level level, std::string_view message) {
    if (level >= current_level.load()) emit(level, message);
}

void log_request(std::uint64_t request_id, std::string_view method, std::string_view target, unsigned status,
                 std::uint64_t bytes_in, std::uint64_t bytes_out, std::chrono::nanoseconds duration) {
    if (log_level::info < current_level.load()) return;
    constexpr std::size_t max_target = 256;
    char tail[160];
    std::snprintf(tail, sizeof tail, " %u in=%llu out=%llu %.3fms", status,
                  static_cast<unsigned long long>(bytes_in), static_cast<unsigned long long>(bytes_out),
                  std::chrono::duration<double, std::milli>(duration).count());
    std::string text = "rid=" + std::to_string(request_id) + ' ' + std::string(method) + ' ' +
                       std::string(target.substr(0, max_target)) + tail;
    emit(log_level::info, text);
}

}  // namespace chunklog::api
