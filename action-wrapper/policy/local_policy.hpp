#pragma once
// The host's own limits on what monsys-action may do, whatever a valid token asks for.
// Optional root-owned JSON file (default /etc/monsys/policy.json); without it, safe defaults.
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/app/app.hpp"
#include "common/build_info.hpp"
#include "common/util/expected.hpp"

namespace monsys::action {

// One allowed restart of a process app (docs/security.md, "Process apps"). The entry's name is
// the instance of monsys-restart@.service that runs `command` as `user`; the root-owned policy
// alone decides all three, the token only selects an entry by the app's path and its command.
struct RestartCommandEntry {
    std::string app;      // the absolute path the app runs (the token's identifier)
    std::string command;  // the absolute path of the restart command (the token's restart_command)
    std::string user;     // the user the command runs as
};

// [a-z0-9][a-z0-9_-]{0,63}: usable as a unit instance name as it is, without escaping.
bool is_valid_restart_entry_name(std::string_view name);

struct LocalPolicy {
    std::set<app::AppType> allowed_types = {app::AppType::systemd, app::AppType::docker,
                                            app::AppType::compose, app::AppType::process};
    // Glob patterns of units never restarted, added to unit_rules' built-in deny list.
    std::vector<std::string> denied_units;
    // Entry name -> entry. Without an entry for its path and command, a process app is not
    // restarted.
    std::map<std::string, RestartCommandEntry> restart_commands;
    // The file the policy was read from (or would have been): named in refusals.
    std::filesystem::path path = build_info::default_policy_path;
};

// Parses a policy file's text. The error is one line naming the field.
Expected<LocalPolicy, std::string> parse_policy(std::string_view text);

// Reads the policy from `path`. Only a file that does not exist (ENOENT) gives the defaults; it is
// opened as a trusted file (common/util/trusted_file.hpp) and must be valid; every other failure
// (EACCES, ENOTDIR, a link, an untrusted owner or mode) refuses.
Expected<LocalPolicy, std::string> load_policy(const std::filesystem::path& path);

// Success when the policy allows restarting `app`, else why it refuses. Pure: looks at names only.
Expected<void, std::string> check_policy_allows(const LocalPolicy& policy, const app::AppRef& app);

// The name of the restart_commands entry for a process app: the first (by name) whose `app` is the
// app's identifier and whose `command` is its restart command.
std::optional<std::string> restart_entry_for(const LocalPolicy& policy, const app::AppRef& app);

}  // namespace monsys::action
