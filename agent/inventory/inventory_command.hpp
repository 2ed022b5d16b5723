#pragma once
// `monsys-agent inventory`: collects the inventory and prints it as JSON, written out as it is
// collected (agent/inventory/collect.hpp). Needs no hub.
#include <optional>
#include <ostream>
#include <string>

namespace monsys::agent {

struct InventoryCommandOptions {
    std::optional<std::string> config_path;
    std::optional<std::string> sections;  // "systemd,docker,..."; none = all
    bool pretty = false;
};

// Exit statuses (docs/inventory.md).
inline constexpr int exit_complete = 0;
inline constexpr int exit_usage = 1;       // bad option or configuration: nothing collected
inline constexpr int exit_incomplete = 3;  // printed, but at least one section carries an error

struct InventoryCommandResult {
    int exit_status = exit_complete;
};

InventoryCommandResult run_inventory_command(const InventoryCommandOptions& options,
                                             std::ostream& out, std::ostream& err);

}  // namespace monsys::agent
