#include "action-wrapper/policy/local_policy.hpp"

#include <fnmatch.h>


#include "action-wrapper/policy/unit_rules.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/trusted_file.hpp"

namespace monsys::action {
namespace {

using json::Json;

constexpr std::size_t max_policy_bytes = 256 * 1024;

std::optional<std::string> read_patterns(const Json& value, std::vector<std::string>& out) {
    if (!value.is_array()) return "must be an array of glob patterns";
    for (const Json& item : value) {
        if (!item.is_string() || item.get<std::string>().empty()) {
            return "must be an array of non-empty strings";
        }
        out.push_back(item.get<std::string>());
    }
    return std::nullopt;
}

std::optional<std::string> read_types(const Json& value, std::set<app::AppType>& out) {
    if (!value.is_array()) return "must be an array of app types";
    std::set<app::AppType> types;
    for (const Json& item : value) {
        auto type = item.is_string() ? app::parse_app_type(item.get<std::string>()) : std::nullopt;
        if (!type) return "unknown app type (systemd, docker, compose or process)";
        types.insert(*type);
    }
    out = std::move(types);
    return std::nullopt;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& text, int flags) {
    for (const std::string& pattern : patterns) {
        if (fnmatch(pattern.c_str(), text.c_str(), flags) == 0) return true;
    }
    return false;
}

}  // namespace

Expected<LocalPolicy, std::string> parse_policy(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_policy_bytes;
    limits.allow_comments = true;
    auto document = json::parse(text, limits);
    if (!document) return unexpected("not valid JSON: " + document.error().message);
    if (!document->is_object()) return unexpected(std::string("must be a JSON object"));

    LocalPolicy policy;
    for (const auto& [name, value] : document->items()) {
        std::optional<std::string> error;
        if (name == "allowed_types") {
            error = read_types(value, policy.allowed_types);
        } else if (name == "denied_units") {
            error = read_patterns(value, policy.denied_units);
        } else if (name == "allowed_restart_commands") {
            error = read_patterns(value, policy.allowed_restart_commands);
        } else {
            error = "unknown field (allowed_types, denied_units, allowed_restart_commands)";
        }
        if (error) return unexpected("field '" + name + "': " + *error);
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

std::optional<std::string> policy_refusal(const LocalPolicy& policy, const app::AppRef& app) {
    if (policy.allowed_types.count(app.type) == 0) {
        return std::string("the local policy does not allow restarting ") + to_string(app.type) +
               " apps";
    }
    if (app.type == app::AppType::systemd) {
        // By name only: aliases are resolved, and checked again, where the unit is restarted.
        if (auto refusal = unit_name_refusal(app.identifier, policy.denied_units)) return refusal;
    }
    if (app.type == app::AppType::process && !policy.allowed_restart_commands.empty() &&
        !matches_any(policy.allowed_restart_commands, app.restart_command, FNM_PATHNAME)) {
        return "the restart command " + app.restart_command +
               " matches none of the local policy's allowed_restart_commands";
    }
    return std::nullopt;
}

}  // namespace monsys::action
