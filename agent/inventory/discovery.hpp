#pragma once
// The "Discovered on host" rows: what a hub can offer to track, each with the exact identifier
// the hub expects and the state the observed-state mapping gives it. Pure.
#include <cstdint>
#include <vector>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

struct DiscoveryOptions {
    // A process is offered once it has run this long: short-lived commands are not apps.
    std::int64_t min_process_age_secs = 60;
    std::int64_t now_unix = 0;
};

std::vector<DiscoveredApp> discover_apps(const Inventory& inventory,
                                         const DiscoveryOptions& options);

}  // namespace monsys::inventory
