#pragma once
// The observed state of a few tracked apps without a full inventory: only the sources their types
// need, and only the narrowest query each (ListUnitsByNames for the named units, one container
// list, an exe/cmdline-only /proc scan).
#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/settings.hpp"
#include "common/app/app.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/io/docker/docker_client.hpp"
#include "common/io/systemd/bus.hpp"

namespace monsys::inventory {

struct TrackedApp {
    app::AppType type = app::AppType::systemd;
    std::string identifier;
};

// Long-lived handles to reuse (the daemon keeps them); a null one is made for this call only.
struct ObservationHandles {
    io::systemd::Bus* bus = nullptr;
    io::docker::DockerClient* docker = nullptr;  // keeps its negotiated API version
};

std::vector<Observation> observe_apps(const InventorySettings& settings,
                                      const std::vector<TrackedApp>& apps,
                                      ObservationHandles handles = {});

bool host_path_exists(const std::string& path);

}  // namespace monsys::inventory
