// `chunklog task ...`: an offline-first task list kept in a local replica and
// synced through the server (see replica.hpp).
#include "cli/commands.hpp"
#include "cli/task_secret.hpp"

#include <chunklog/tasks/replica.hpp>
#include <chunklog/tasks/taskchampion.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <chrono>
#include <sstream>
#include <thread>

namespace chunklog::cli {
namespace json = boost::json;

namespace {

// Operation timestamps: nanoseconds since the epoch, as Taskwarrior's.
std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Task dates (entry, modified, end): epoch seconds, as Taskwarrior writes them.
std::string epoch_seconds(std::int64_t ns) { return std::to_string(ns / 1'000'000'000); }

std::filesystem::path replica_dir(context& ctx) {
    return ctx.settings().replica.empty() ? default_replica_dir() : std::filesystem::path(ctx.settings().replica);
}

// Updates that stamp `modified` along with the given properties.
std::vector<operation> updates(const uuid& task, const std::vector<std::pair<std::string, std::optional<std::string>>>& props) {
    auto ts = now_ns();
    std::vector<operation> ops;
    for (const auto& [k, v] : props) ops.push_back(operation::update(task, k, v, ts));
    ops.push_back(operation::update(task, "modified", epoch_seconds(ts), ts));
    return ops;
}

using property_changes = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Properties Taskwarrior stores as epoch seconds.
bool is_date_property(std::string_view name) {
    return name == "due" || name == "wait" || name == "scheduled" || name == "until" || name == "start" ||
           name == "end" || name == "entry";
}

// A date as the user writes it: epoch seconds, an ISO 8601 date
// (YYYY-MM-DD, local midnight) or an RFC 3339 time; as epoch seconds.
std::optional<std::string> parse_date(const std::string& text) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc{} && end == text.data() + text.size()) return std::to_string(seconds);
    if (auto ns = parse_rfc3339(text)) return epoch_seconds(*ns);
    std::tm day{};
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        day.tm_year = y - 1900, day.tm_mon = m - 1, day.tm_mday = d, day.tm_isdst = -1;
        auto t = std::mktime(&day);
        if (t != -1 && day.tm_mday == d && day.tm_mon == m - 1) return std::to_string(static_cast<std::int64_t>(t));
    }
    return std::nullopt;
}

bool is_property_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::islower(c) || std::isdigit(c) || c == '_' || c == '.';
    });
}

// The arguments of add and modify as Taskwarrior reads them: "name:value"
// sets a property ("name:" removes it; the value may hold spaces, as in
// "description:two words"), "+tag" and "-tag" add and remove a tag
// (tag_<name>), dates become epoch seconds; other words make the
// description. nullopt (and `error`) for a date that does not parse.
std::optional<property_changes> parse_properties(const std::vector<std::string>& args, std::string* description,
                                                 std::string& error) {
    property_changes props;
    std::string words;
    for (const auto& a : args) {
        auto colon = a.find(':');
        if (a.size() > 1 && (a[0] == '+' || a[0] == '-') && is_property_name(a.substr(1))) {
            props.emplace_back("tag_" + a.substr(1), a[0] == '+' ? std::optional<std::string>("x") : std::nullopt);
        } else if (colon != std::string::npos && is_property_name(a.substr(0, colon))) {
            auto name = a.substr(0, colon);
            std::optional<std::string> value = a.substr(colon + 1);
            if (value->empty()) value.reset();
            else if (is_date_property(name) && !(value = parse_date(*value))) {
                error = name + ": '" + a.substr(colon + 1) + "' is not a date (YYYY-MM-DD, an RFC 3339 time or epoch seconds)";
                return std::nullopt;
            }
            props.emplace_back(name, value);
        } else {
            words += (words.empty() ? "" : " ") + a;
        }
    }
    if (description) *description = words;
    else if (!words.empty()) props.emplace_back("description", words);
    return props;
}

// Taskwarrior also keeps the legacy "tags" mirror: the tag names, joined
// with commas, absent when there are none.
void mirror_tags(const task_properties& before, property_changes& changes) {
    auto after = before;
    bool touched = false;
    for (const auto& [k, v] : changes) {
        if (!k.starts_with("tag_")) continue;
        touched = true;
        if (v) after[k] = *v;
        else after.erase(k);
    }
    if (!touched) return;
    std::string tags;
    for (const auto& [k, v] : after)
        if (k.starts_with("tag_")) tags += (tags.empty() ? "" : ",") + k.substr(4);
    changes.emplace_back("tags", tags.empty() ? std::nullopt : std::optional(tags));
}

std::optional<std::size_t> working_number(const std::vector<std::optional<uuid>>& ws, const uuid& id) {
    for (std::size_t i = 0; i < ws.size(); ++i)
        if (ws[i] == id) return i + 1;
    return std::nullopt;
}

json::object task_json(const uuid& id, const task_properties& props, std::optional<std::size_t> number) {
    json::object o;
    for (const auto& [k, v] : props) o[k] = v;
    o["uuid"] = id.to_string();
    o["id"] = number ? json::value(*number) : json::value(nullptr);
    if (!o.contains("status")) o["status"] = "pending";
    if (!o.contains("description")) o["description"] = "";
    return o;
}

// Resolves a working-set number or a UUID to a task id.
std::optional<uuid> resolve_id(const std::vector<std::optional<uuid>>& ws, const std::string& text) {
    if (auto id = uuid::parse(text)) return id;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n == 0 || n > ws.size()) return std::nullopt;
    return ws[n - 1];
}

struct task_command {
    const char* name;
    const char* usage;
    const char* summary;
    argument_spec spec;
    int (*run)(context&, replica&, const arguments&);
};

int task_add(context& ctx, replica& r, const arguments& a) {
    std::string description, error;
    auto props = parse_properties(a.positional(), &description, error);
    if (!props) return ctx.usage_error(error);
    if (description.empty()) return ctx.usage_error("task add needs a DESCRIPTION");
    auto id = uuid::random();
    auto ts = now_ns();
    std::vector<operation> ops{operation::create(id)};
    mirror_tags({}, *props);
    props->insert(props->begin(), {{"description", description}, {"status", "pending"}, {"entry", epoch_seconds(ts)}});
    for (auto& op : updates(id, *props)) ops.push_back(std::move(op));
    if (auto c = r.commit(ops); !c) return ctx.fail(c.error());
    auto ws = r.working_set();
    if (!ws) return ctx.fail(ws.error());
    auto number = working_number(*ws, id);
    ctx.print({{"uuid", id.to_string()}, {"id", number ? json::value(*number) : json::value(nullptr)}},
              "created task " + (number ? std::to_string(*number) : id.to_string()));
    return exit_ok;
}

int task_list(context& ctx, replica& r, const arguments& a) {
    bool all = a.has("--all");
    auto tasks = r.tasks();
    auto ws = r.working_set();
    if (!tasks) return ctx.fail(tasks.error());
    if (!ws) return ctx.fail(ws.error());
    json::array out;
    std::ostringstream text;
    auto show = [&](const uuid& id, const task_properties& props, std::optional<std::size_t> number) {
        auto o = task_json(id, props, number);
        text << (number ? std::to_string(*number) : id.to_string().substr(0, 8)) << "  "
             << o.at("description").as_string().c_str() << "  [" << o.at("status").as_string().c_str() << "]\n";
        out.push_back(std::move(o));
    };
    for (std::size_t i = 0; i < ws->size(); ++i)
        if (auto id = (*ws)[i]; id && tasks->contains(*id)) show(*id, tasks->at(*id), i + 1);
    if (all)
        for (const auto& [id, props] : *tasks)
            if (!working_number(*ws, id)) show(id, props, std::nullopt);
    auto s = text.str();
    if (!s.empty()) s.pop_back();
    if (ctx.globals().json) ctx.out() << json::serialize(out) << std::endl;
    else ctx.out() << s << (s.empty() ? "" : "\n");
    return exit_ok;
}

// Shared by info, modify, done, delete: finds the task named by `name` (a
// working-set number or a UUID); a replica that cannot be read is reported.
std::optional<uuid> find_task(context& ctx, replica& r, const std::string& name, int& exit) {
    auto ws = r.working_set();
    if (!ws) {
        exit = ctx.fail(ws.error());
        return std::nullopt;
    }
    auto id = resolve_id(*ws, name);
    auto t = id ? r.task(*id) : outcome<std::optional<task_properties>>(std::nullopt);
    if (!t) {
        exit = ctx.fail(t.error());
        return std::nullopt;
    }
    if (!id || !*t) {
        exit = ctx.fail(make_error(errc::not_found, "no task " + name));
        return std::nullopt;
    }
    return id;
}

int modify_task(context& ctx, replica& r, const std::string& name, property_changes props, const char* verb) {
    int exit = exit_ok;
    auto id = find_task(ctx, r, name, exit);
    if (!id) return exit;
    if (props.empty()) return ctx.usage_error("nothing to change");
    auto before = r.task(*id);  // find_task saw it
    if (!before) return ctx.fail(before.error());
    mirror_tags(before->value_or(task_properties{}), props);
    if (auto c = r.commit(updates(*id, props)); !c) return ctx.fail(c.error());
    ctx.print({{"uuid", id->to_string()}, {"action", verb}}, std::string(verb) + " task " + name);
    return exit_ok;
}

int task_modify(context& ctx, replica& r, const arguments& a) {
    const auto& words = a.positional();
    std::vector<std::string> rest(words.begin() + 1, words.end());
    std::string error;
    auto props = parse_properties(rest, nullptr, error);
    if (!props) return ctx.usage_error(error);
    return modify_task(ctx, r, words[0], std::move(*props), "modified");
}

// An annotation is annotation_<epoch seconds>, the epoch bumped until the key is free (as Taskwarrior does).
int task_annotate(context& ctx, replica& r, const arguments& a) {
    const auto& words = a.positional();
    int exit = exit_ok;
    auto id = find_task(ctx, r, words[0], exit);
    if (!id) return exit;
    auto props = r.task(*id);
    if (!props) return ctx.fail(props.error());
    std::string text;
    for (std::size_t i = 1; i < words.size(); ++i) text += (i > 1 ? " " : "") + words[i];
    auto seconds = now_ns() / 1'000'000'000;
    auto existing = props->value_or(task_properties{});
    while (existing.contains("annotation_" + std::to_string(seconds))) ++seconds;
    return modify_task(ctx, r, words[0], {{"annotation_" + std::to_string(seconds), text}}, "annotated");
}

int task_done(context& ctx, replica& r, const arguments& a) {
    return modify_task(ctx, r, a.positional()[0],
                       {{"status", "completed"}, {"end", epoch_seconds(now_ns())}}, "completed");
}

int task_delete(context& ctx, replica& r, const arguments& a) {
    return modify_task(ctx, r, a.positional()[0], {{"status", "deleted"}, {"end", epoch_seconds(now_ns())}}, "deleted");
}

int task_info(context& ctx, replica& r, const arguments& a) {
    int exit = exit_ok;
    auto id = find_task(ctx, r, a.positional()[0], exit);
    if (!id) return exit;
    auto props = r.task(*id);  // find_task saw it
    auto ws = r.working_set();
    if (!props) return ctx.fail(props.error());
    if (!ws) return ctx.fail(ws.error());
    auto o = task_json(*id, props->value_or(task_properties{}), working_number(*ws, *id));
    std::string text;
    for (const auto& [k, v] : o) text += std::string(k) + "  " + (v.is_string() ? std::string(v.get_string()) : json::serialize(v)) + "\n";
    text.pop_back();
    ctx.print(o, text);
    return exit_ok;
}

json::object report_json(const sync_report& s) {
    json::object o{{"pulled_transactions", s.pulled_transactions}, {"applied_operations", s.applied_operations},
                   {"published_operations", s.published_operations}, {"conflicts", s.conflicts},
                   {"from_snapshot", s.from_snapshot}};
    if (s.snapshot)
        o["snapshot"] = json::object{{"transaction", s.snapshot->transaction.to_string()}, {"seq", s.snapshot->seq}};
    if (s.snapshot_error)
        o["snapshot_error"] = json::object{{"error", code_name(s.snapshot_error->code)},
                                           {"message", s.snapshot_error->message}};
    return o;
}

std::string report_text(const sync_report& s) {
    auto text = "synced: pulled " + std::to_string(s.pulled_transactions) + " transactions (" +
                std::to_string(s.applied_operations) + " operations), published " +
                std::to_string(s.published_operations) + " operations";
    if (s.from_snapshot) text += "; started from the server's snapshot";
    if (s.snapshot) text += "; snapshot at seq " + std::to_string(s.snapshot->seq);
    return text;
}

// A failure that waiting does not cure.
bool incurable(errc code) {
    return code == errc::unauthorized || code == errc::forbidden || code == errc::tls_failure;
}

// The key of the task list: the secret and the user (about a third of a
// second of work, as Taskwarrior's own sync); nullopt after reporting why not.
std::optional<sealing_key> task_list_key(context& ctx) {
    auto secret = find_encryption_secret(ctx.globals(), replica_dir(ctx));
    if (!secret) {
        ctx.fail(secret.error());
        return std::nullopt;
    }
    if (!*secret) {
        ctx.usage_error(no_secret_message());
        return std::nullopt;
    }
    return sealing_key::derive(**secret, *uuid::parse(ctx.settings().user));
}

// `snapshot_failed`, when given, is set when an owed snapshot could not be written.
int sync_once(context& ctx, client& server, const sealing_key& key, bool* snapshot_failed = nullptr) {
    auto r = replica::open(replica_dir(ctx));
    if (!r) return ctx.fail(r.error());
    auto s = (*r)->sync(server, key);
    if (!s) return ctx.fail(s.error());
    // A snapshot that could not be written is retried by the next sync; the
    // sync itself succeeded.
    if (snapshot_failed) *snapshot_failed = s->snapshot_error.has_value();
    if (s->snapshot_error && !ctx.globals().json)
        ctx.err() << "warning: the snapshot the server asked for was not written: " << *s->snapshot_error << "\n";
    ctx.print(report_json(*s), report_text(*s));
    return exit_ok;
}

// `task config encryption-secret [SECRET]`.
int task_config(context& ctx, const std::vector<std::string>& words) {
    if (words[0] != "encryption-secret") return ctx.usage_error("unknown setting '" + words[0] + "' (known: encryption-secret)");
    if (words.size() == 2) {
        if (auto saved = save_encryption_secret(replica_dir(ctx), words[1]); !saved) return ctx.fail(saved.error());
        ctx.print(json::object{{"encryption_secret", "saved"}}, "encryption secret saved in " + replica_dir(ctx).string());
        return exit_ok;
    }
    auto secret = find_encryption_secret(ctx.globals(), replica_dir(ctx));
    if (!secret) return ctx.fail(secret.error());
    ctx.print(json::object{{"encryption_secret", *secret ? "set" : "not set"}},
              *secret ? "an encryption secret is set" : no_secret_message());
    return *secret ? exit_ok : exit_failure;
}

// Syncs whenever local operations appear or the server's HEAD moves; keeps
// going offline and catches up when the server returns, but stops on what
// waiting does not cure: a refused token (401, 403) or a certificate that
// does not verify. The replica is opened only while syncing, so other
// commands can use it meanwhile.
int sync_watch(context& ctx, client& server, const sealing_key& key) {
    constexpr auto poll = std::chrono::seconds(2);
    bool owed_failed = false;  // the last sync could not write the snapshot owed: not again until something changes
    for (bool first = true;; first = false) {
        uuid base = root_id;
        std::size_t pending = 0;
        bool snapshot_owed = false;
        {
            auto r = replica::open(replica_dir(ctx));
            if (!r) return ctx.fail(r.error());
            auto synced = (*r)->last_synced();
            auto count = (*r)->pending_operations();
            auto wanted = (*r)->snapshot_wanted();
            if (synced) base = *synced;
            if (count) pending = *count;
            if (wanted) snapshot_owed = *wanted != snapshot_urgency::none;
        }
        auto head = server.head();
        if (!head && incurable(head.error().code)) return ctx.fail(head.error());
        bool moved = head && head->head != base;
        // Idle with a snapshot owed: a sync with nothing to publish writes it.
        bool owed = head && snapshot_owed && !owed_failed;
        if (first || pending > 0 || moved || owed) {
            bool failed = false;
            auto status = sync_once(ctx, server, key, &failed);
            owed_failed = failed;
            if (status == exit_unauthorized || status == exit_forbidden || status == exit_tls) return status;
            if (status != exit_ok) std::this_thread::sleep_for(poll);  // offline: retry later
            continue;
        }
        if (!head) std::this_thread::sleep_for(poll);
        else (void)server.wait_head(base, poll);  // wakes early when HEAD moves
    }
}

const std::vector<task_command>& task_commands() {
    static const std::vector<task_command> table{
        {"add", "task add DESCRIPTION [prop:value] [+tag] ...",
         "create a pending task (project:, priority:H|M|L, due:YYYY-MM-DD, +tag, any prop:value)",
         {{}, 0, any_number}, task_add},
        {"list", "task list [--all]", "pending tasks by number; --all: every task", {{{"--all"}}, 0, 0}, task_list},
        {"info", "task info ID", "every property of a task", {{}, 1, 1}, task_info},
        {"modify", "task modify ID [prop:value] [+tag] [-tag] ...",
         "change properties (prop: with no value removes it; due: and other dates take YYYY-MM-DD)",
         {{}, 1, any_number}, task_modify},
        {"annotate", "task annotate ID TEXT", "add an annotation", {{}, 2, any_number}, task_annotate},
        {"done", "task done ID", "mark a task completed", {{}, 1, 1}, task_done},
        {"delete", "task delete ID", "mark a task deleted", {{}, 1, 1}, task_delete},
    };
    return table;
}

}  // namespace

std::string task_help() {
    std::string text = "usage: chunklog [--replica DIR] task COMMAND\n\nID is a task number from `task list` or a UUID.\n\n";
    for (const auto& c : task_commands()) text += "  " + std::string(c.usage) + "\n      " + c.summary + "\n";
    text += "  task sync [--watch]\n      sync with the server; --watch: keep syncing as things change\n";
    text += "  task config encryption-secret [SECRET]\n      save the task list's encryption secret in the replica "
            "(mode 0600), or say whether one is set\n";
    return text;
}

int run_task(context& ctx) {
    const auto& args = ctx.args();
    if (args.empty() || ctx.globals().help) {
        ctx.out() << task_help();
        return args.empty() && !ctx.globals().help ? exit_usage : exit_ok;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    arguments a;
    if (args[0] == "sync") {
        if (auto bad = ctx.parse(rest, {{{"--watch"}}}, a)) return *bad;
        auto server = ctx.connect();
        if (!server) return exit_usage;
        auto key = task_list_key(ctx);
        if (!key) return exit_usage;
        return a.has("--watch") ? sync_watch(ctx, *server, *key) : sync_once(ctx, *server, *key);
    }
    if (args[0] == "config") {
        if (auto bad = ctx.parse(rest, {{}, 1, 2}, a)) return *bad;
        return task_config(ctx, a.positional());
    }
    for (const auto& c : task_commands()) {
        if (args[0] != c.name) continue;
        if (auto bad = ctx.parse(rest, c.spec, a)) return *bad;
        auto r = replica::open(replica_dir(ctx));
        if (!r) return ctx.fail(r.error());
        return c.run(ctx, **r, a);
    }
    return ctx.usage_error("unknown task command '" + args[0] + "'");
}

}  // namespace chunklog::cli
