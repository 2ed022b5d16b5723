#pragma once
// Assembles the inventory document: every requested section runs on its own thread against the
// same deadline, so one hung source (a Docker socket that never answers, a bus that does not
// reply, a /proc read stuck on a dying process) costs at most the source timeout and never holds
// back the others.
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "agent/inventory/discovery.hpp"
#include "agent/inventory/docker_containers.hpp"
#include "agent/inventory/settings.hpp"
#include "agent/inventory/systemd_units.hpp"
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
    // A section thread still running after its deadline was left behind; the caller must not
    // run static destructors under it (exit with std::_Exit after flushing).
    bool abandoned_work = false;
};

CollectResult collect_inventory(const CollectRequest& request);

// Whether every requested section was produced without error.
bool is_complete(const Inventory& inventory);

}  // namespace monsys::inventory
