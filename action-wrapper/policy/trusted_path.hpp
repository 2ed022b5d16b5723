#pragma once
// Files that decide what monsys-action does (its configuration with the pinned hub keys, the
// local policy, a restart command it executes) must be out of reach of anyone but root and the
// user monsys-action runs as. monsys-action runs through `sudo ... restart-app *`, whose `*` lets
// the caller add options such as --config, so this check, not the option parser, is the boundary.
#include <filesystem>
#include <optional>
#include <string>

namespace monsys::action {

// Returns why `path` is not trusted, or nothing when it is. Trusted means: it resolves to a
// regular file; the file and every directory from `/` down to it, both along the path as given
// and along the resolved one (so a symlink cannot point into a writable place), are owned by root
// or by the effective user and are not writable by group or others.
std::optional<std::string> untrusted_file_problem(const std::filesystem::path& path);

}  // namespace monsys::action
