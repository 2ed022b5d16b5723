#pragma once
// The "Discovered on host" rows: what a hub can offer to track, each with the exact identifier
// the hub expects and the state the observed-state mapping gives it. Pure.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

struct DiscoveryOptions {
    // A process is offered once it has run this long: short-lived commands are not apps.
    std::int64_t min_process_age_secs = 60;
    std::int64_t now_unix = 0;
};

// The process paths worth offering, gathered one process at a time (a walk that writes its rows
// out and keeps none hands each to add()). One entry per distinct path.
class ProcessDiscovery {
  public:
    explicit ProcessDiscovery(DiscoveryOptions options) : options_(options) {}
    void add(const Process& process);
    void merge(const ProcessDiscovery& other) {
        paths_.insert(other.paths_.begin(), other.paths_.end());
    }
    const std::set<std::string>& paths() const { return paths_; }

  private:
    DiscoveryOptions options_;
    std::set<std::string> paths_;
};

// With `processes_seen`, the process rows are those it gathered (inventory.processes then only
// says whether the section succeeded).
std::vector<DiscoveredApp> discover_apps(const Inventory& inventory,
                                         const DiscoveryOptions& options,
                                         const ProcessDiscovery* processes_seen = nullptr);

}  // namespace monsys::inventory
