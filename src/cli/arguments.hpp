// Strict parsing of a subcommand's arguments against what it takes: flags
// ("--all", "--from ID" or "--from=ID", "--wait [SECONDS]"), "--" ending the
// flags, and positional words. An unknown flag, a flag without its value, a
// value given to a flag that takes none, or too few or too many positional
// words is a usage error. A word is a flag when it starts with "--"; "-x" and
// "-" are positional. Pure functions and values; thread-safe.
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chunklog::cli {

enum class takes {
    nothing,         // --all
    value,           // --from ID, --from=ID; the next word must not be a flag
    optional_value,  // --wait [SECONDS]: takes the next word unless it is a flag
};

struct flag_spec {
    std::string_view name;
    takes value = takes::nothing;
};

inline constexpr std::size_t any_number = std::numeric_limits<std::size_t>::max();

struct argument_spec {
    std::vector<flag_spec> flags;
    std::size_t min_positional = 0;
    std::size_t max_positional = 0;
};

class arguments {
public:
    bool has(std::string_view flag) const { return flags_.contains(std::string(flag)); }
    // The flag's value; nullopt when the flag is absent or came without one.
    std::optional<std::string> value(std::string_view flag) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    friend std::optional<std::string> parse_arguments(const std::vector<std::string>&, const argument_spec&,
                                                      arguments&);
    std::map<std::string, std::optional<std::string>> flags_;  // a repeated flag keeps its last value
    std::vector<std::string> positional_;
};

// Fills `out`; returns the message of a usage error instead.
std::optional<std::string> parse_arguments(const std::vector<std::string>& args, const argument_spec& spec,
                                           arguments& out);

// Whether a word is a flag ("--x...").
inline bool is_flag(std::string_view word) { return word.size() > 2 && word.starts_with("--"); }

}  // namespace chunklog::cli
