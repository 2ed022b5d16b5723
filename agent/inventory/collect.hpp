#pragma once
// Assembles the inventory. The two sources that wait on another process (the systemd manager,
// the Docker engine) each run on a joinable worker thread against the same deadline, each bounded
// by its own timeouts; /proc (one walk shared by processes and ports), the package database and
// the host facts are read meanwhile on the calling thread, which then joins the workers. No
// thread outlives the call.
//
// Two ways out: collect_inventory() returns the whole model (small hosts, tests, callers that
// want the tree); write_inventory_document() writes the document as it is collected, each
// process row straight into a spool (common/inventory/text_spool), so that the memory it needs
// does not grow with the number of processes.
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "agent/inventory/discovery.hpp"
#include "agent/inventory/docker_containers.hpp"
#include "agent/inventory/settings.hpp"
#include "agent/inventory/systemd_units.hpp"
#include "common/inventory/json_writer.hpp"
#include "common/inventory/model.hpp"

namespace monsys::inventory {

enum class Section { systemd, docker, processes, packages, ports };
inline constexpr Section all_sections[] = {Section::systemd, Section::docker, Section::processes,
                                           Section::packages, Section::ports};
const char* to_string(Section section);

// "systemd,docker" -> the set; an unknown name is an error naming it.
Expected<std::set<Section>, std::string> parse_sections(std::string_view list);

struct CollectRequest {
    InventorySettings settings;
    std::set<Section> sections{std::begin(all_sections), std::end(all_sections)};
    SystemdQuery systemd;
    DockerQuery docker;
    std::int64_t min_process_age_secs = DiscoveryOptions{}.min_process_age_secs;
};

struct CollectResult {
    Inventory inventory;
};

CollectResult collect_inventory(const CollectRequest& request);

struct WrittenInventory {
    // Everything but the process rows (inventory.processes->processes stays empty): the
    // sections' statuses, for is_complete() and for reporting errors.
    Inventory summary;
    // False when the spooled process rows could not be read back: the text written to `out`
    // is then cut short and must not be used.
    bool written = true;
};

// Collects and writes the document (docs/inventory.md) to `out`: the bytes of
// to_json(inventory).dump(indent, ' ', false, replace) for the same collection.
WrittenInventory write_inventory_document(const CollectRequest& request, TextSink& out,
                                          int indent = -1);

// Whether every requested section was produced without error.
bool is_complete(const Inventory& inventory);

}  // namespace monsys::inventory
