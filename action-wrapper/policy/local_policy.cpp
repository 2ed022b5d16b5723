#include "action-wrapper/policy/local_policy.hpp"

#include <algorithm>

#include "action-wrapper/policy/unit_rules.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/printable.hpp"
#include "common/util/trusted_file.hpp"

namespace monsys::action {
namespace {

using json::Json;

constexpr std::size_t max_policy_bytes = 256 * 1024;

// The readers below fill `out` from one field's value; the error is the end of a sentence
// whose subject is the field ("field 'x': <error>").
using FieldRead = Expected<void, std::string>;

FieldRead read_patterns(const Json& value, std::vector<std::string>& out) {
    if (!value.is_array()) return unexpected(std::string("must be an array of glob patterns"));
    for (const Json& item : value) {
        if (!item.is_string() || item.get<std::string>().empty()) {
            return unexpected(std::string("must be an array of non-empty strings"));
        }
        out.push_back(item.get<std::string>());
    }
    return ok();
}

FieldRead read_types(const Json& value, std::set<app::AppType>& out) {
    if (!value.is_array()) return unexpected(std::string("must be an array of app types"));
    std::set<app::AppType> types;
    for (const Json& item : value) {
        auto type = item.is_string() ? app::parse_app_type(item.get<std::string>()) : std::nullopt;
        if (!type) {
            return unexpected(
                std::string("unknown app type (systemd, docker, compose or process)"));
        }
        types.insert(*type);
    }
    out = std::move(types);
    return ok();
}

bool is_absolute_path(const std::string& path) {
    return !path.empty() && path.front() == '/';
}

FieldRead read_restart_entry(const Json& value, RestartCommandEntry& out) {
    if (!value.is_object()) {
        return unexpected(std::string("must be an object with app, command and user"));
    }
    for (const auto& [field, item] : value.items()) {
        std::string* target = field == "app"       ? &out.app
                              : field == "command" ? &out.command
                              : field == "user"    ? &out.user
                                                   : nullptr;
        if (target == nullptr) {
            return unexpected("unknown field '" + printable_name(field) + "' (app, command, user)");
        }
        if (!item.is_string() || item.get<std::string>().empty()) {
            return unexpected("'" + field + "' must be a non-empty string");
        }
        *target = item.get<std::string>();
    }
    for (const auto& [field, text] : {std::pair<const char*, const std::string&>{"app", out.app},
                                      {"command", out.command},
                                      {"user", out.user}}) {
        if (text.empty()) return unexpected(std::string("'") + field + "' is missing");
    }
    if (!is_absolute_path(out.app)) {
        return unexpected(std::string("'app' must be an absolute path"));
    }
    if (!is_absolute_path(out.command)) {
        return unexpected(std::string("'command' must be an absolute path"));
    }
    return ok();
}

FieldRead read_restart_commands(const Json& value,
                                std::map<std::string, RestartCommandEntry>& out) {
    if (!value.is_object()) {
        return unexpected(std::string("must be an object: entry name -> {app, command, user}"));
    }
    for (const auto& [name, item] : value.items()) {
        if (!is_valid_restart_entry_name(name)) {
            return unexpected("entry '" + printable_name(name) +
                              "': not a valid entry name ([a-z0-9][a-z0-9_-]{0,63})");
        }
        RestartCommandEntry entry;
        if (auto read = read_restart_entry(item, entry); !read) {
            return unexpected("entry '" + name + "': " + read.error());
        }
        out[name] = std::move(entry);
    }
    return ok();
}

}  // namespace

bool is_valid_restart_entry_name(std::string_view name) {
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (name.empty() || name.size() > 64 || !lower_or_digit(name.front())) return false;
    return std::all_of(name.begin(), name.end(),
                       [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

Expected<LocalPolicy, std::string> parse_policy(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_policy_bytes;
    limits.allow_comments = true;
    auto document = json::parse(text, limits);
    if (!document) return unexpected("not valid JSON: " + document.error().message);
    if (!document->is_object()) return unexpected(std::string("must be a JSON object"));

    LocalPolicy policy;
    for (const auto& [name, value] : document->items()) {
        FieldRead read = ok();
        if (name == "allowed_types") {
            read = read_types(value, policy.allowed_types);
        } else if (name == "denied_units") {
            read = read_patterns(value, policy.denied_units);
        } else if (name == "restart_commands") {
            read = read_restart_commands(value, policy.restart_commands);
        } else if (name == "allowed_restart_commands") {
            read = unexpected(std::string("replaced by restart_commands, see docs/security.md"));
        } else {
            read = unexpected(
                std::string("unknown field (allowed_types, denied_units, restart_commands)"));
        }
        if (!read) return unexpected("field '" + printable_name(name) + "': " + read.error());
    }
    return policy;
}

Expected<LocalPolicy, std::string> load_policy(const std::filesystem::path& path) {
    // Opened once without following links, checked on its descriptor, read from it. Only a policy
    // that is not there gives the defaults: one that cannot be opened or checked (EACCES, ENOTDIR,
    // a link, an untrusted directory) refuses, or a broken or tampered setup would quietly turn
    // into everything the defaults allow.
    auto text = read_trusted_file(path, max_policy_bytes);
    if (!text) {
        if (text.error().not_found()) return LocalPolicy{};
        return unexpected(path.string() + ": not trusted: " + text.error().message);
    }
    auto policy = parse_policy(*text);
    if (!policy) return unexpected(path.string() + ": " + policy.error());
    return policy;
}

Expected<void, std::string> check_policy_allows(const LocalPolicy& policy, const app::AppRef& app) {
    if (policy.allowed_types.count(app.type) == 0) {
        return unexpected(std::string("the local policy does not allow restarting ") +
                          to_string(app.type) + " apps");
    }
    if (app.type == app::AppType::systemd) {
        // By name only: aliases are resolved, and checked again, where the unit is restarted.
        if (auto allowed = check_unit_name_allowed(app.identifier, policy.denied_units); !allowed) {
            return allowed;
        }
    }
    if (app.type == app::AppType::process && !restart_entry_for(policy, app)) {
        return unexpected(
            "no entry of restart_commands in " + policy.path.string() + " allows " +
            app.restart_command + " for " + app.identifier + "; to allow it, root adds one: " +
            "\"restart_commands\": {\"<name>\": {\"app\": \"" + app.identifier +
            "\", \"command\": \"" + app.restart_command + "\", \"user\": \"<user>\"}}");
    }
    return ok();
}

std::optional<std::string> restart_entry_for(const LocalPolicy& policy, const app::AppRef& app) {
    for (const auto& [name, entry] : policy.restart_commands) {
        if (entry.app == app.identifier && entry.command == app.restart_command) return name;
    }
    return std::nullopt;
}

}  // namespace monsys::action
