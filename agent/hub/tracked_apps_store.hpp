#pragma once
// The tracked-app list from the hub's last welcome/apps, and the last observed state of each
// app, kept in <hub_state_dir>/tracked-apps.json (written atomically) so that `state` is right
// after a restart of the agent, before the hub has answered.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/hub/messages.hpp"
#include "common/inventory/model.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

struct RememberedState {
    inventory::AppState observed = inventory::AppState::unknown;
    std::string detail;
    std::chrono::system_clock::time_point changed_at;
};

struct TrackedAppsFile {
    std::vector<TrackedApp> apps;
    std::map<std::string, RememberedState> states;  // by app id
};

// A missing file is an empty list; a file that does not parse is an error naming it.
Expected<TrackedAppsFile, std::string> load_tracked_apps(const std::filesystem::path& file);
// Writes a temporary file, fsyncs it, renames it over `file` and fsyncs the directory.
Expected<void, std::string> save_tracked_apps(const std::filesystem::path& file,
                                              const TrackedAppsFile& contents);

}  // namespace monsys::agent::hub
