#include "cli/arguments.hpp"

#include <algorithm>

namespace chunklog::cli {
namespace {

const flag_spec* find_flag(const argument_spec& spec, std::string_view name) {
    auto it = std::find_if(spec.flags.begin(), spec.flags.end(), [&](const flag_spec& f) { return f.name == name; });
    return it == spec.flags.end() ? nullptr : &*it;
}

std::optional<std::string> check_count(std::size_t n, const argument_spec& spec) {
    if (n < spec.min_positional) return std::string("missing an argument");
    if (n > spec.max_positional)
        return spec.max_positional == 0 ? std::string("this command takes no arguments")
                                        : "too many arguments (at most " + std::to_string(spec.max_positional) + ")";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> arguments::value(std::string_view flag) const {
    auto it = flags_.find(std::string(flag));
    return it == flags_.end() ? std::nullopt : it->second;
}

std::optional<std::string> parse_arguments(const std::vector<std::string>& args, const argument_spec& spec,
                                           arguments& out) {
    bool flags_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& word = args[i];
        if (!flags_ended && word == "--") {
            flags_ended = true;
            continue;
        }
        if (flags_ended || !is_flag(word)) {
            out.positional_.push_back(word);
            continue;
        }
        auto equals = word.find('=');
        auto name = word.substr(0, equals);
        const auto* flag = find_flag(spec, name);
        if (flag == nullptr) return "unknown option '" + name + "'";
        std::optional<std::string> value;
        if (equals != std::string::npos) {
            if (flag->value == takes::nothing) return name + " takes no value";
            value = word.substr(equals + 1);
            if (value->empty() && flag->value == takes::value) return name + " needs a value";
        } else if (flag->value != takes::nothing && i + 1 < args.size() && !is_flag(args[i + 1])) {
            value = args[++i];
        } else if (flag->value == takes::value) {
            return name + " needs a value";
        }
        out.flags_[name] = std::move(value);
    }
    return check_count(out.positional_.size(), spec);
}

}  // namespace chunklog::cli
