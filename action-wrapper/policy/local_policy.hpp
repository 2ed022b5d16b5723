#pragma once
// The host's own limits on what monsys-action may do, whatever a valid token asks for.
// Optional root-owned JSON file (default /etc/monsys/policy.json); without it, safe defaults.
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/app/app.hpp"
#include "common/util/expected.hpp"

namespace monsys::action {

struct LocalPolicy {
    std::set<app::AppType> allowed_types = {app::AppType::systemd, app::AppType::docker,
                                            app::AppType::compose, app::AppType::process};
    // Glob patterns of units never restarted, added to unit_rules' built-in deny list.
    std::vector<std::string> denied_units;
    // Glob patterns a restart command must match (with '/' matched literally); empty: any path.
    std::vector<std::string> allowed_restart_commands;
};

// Parses a policy file's text. The error is one line naming the field.
Expected<LocalPolicy, std::string> parse_policy(std::string_view text);

// Reads the policy from `path`. Only a file that does not exist (ENOENT) gives the defaults; it is
// opened as a trusted file (common/util/trusted_file.hpp) and must be valid; every other failure
// (EACCES, ENOTDIR, a link, an untrusted owner or mode) refuses.
Expected<LocalPolicy, std::string> load_policy(const std::filesystem::path& path);

// Why the policy refuses to restart `app`, or nothing when it allows it. Pure: looks at names only.
std::optional<std::string> policy_refusal(const LocalPolicy& policy, const app::AppRef& app);

}  // namespace monsys::action
