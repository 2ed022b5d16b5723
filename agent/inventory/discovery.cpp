#include "agent/inventory/discovery.hpp"

#include <algorithm>
#include <set>

#include "common/app/identifier.hpp"
#include "common/inventory/observed_state.hpp"

namespace monsys::inventory {
namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Service units that can be started by name: not templates ("foo@.service"), not missing.
bool is_trackable_service(const Unit& unit) {
    return ends_with(unit.name, ".service") && !ends_with(unit.name, "@.service") &&
           unit.load_state != "not-found" && app::is_valid_unit_name(unit.name);
}

void discover_units(const SystemdSection& systemd, std::vector<DiscoveredApp>& rows) {
    for (const Unit& unit : systemd.units) {
        if (!is_trackable_service(unit)) continue;
        std::string name =
            unit.name.substr(0, unit.name.size() - std::string_view(".service").size());
        rows.push_back(
            {app::AppType::systemd, unit.name, std::move(name), observe_unit(unit).state});
    }
}

void discover_containers(const DockerSection& docker, std::vector<DiscoveredApp>& rows) {
    for (const Container& container : docker.containers) {
        if (!app::is_valid_container_ref(container.name)) continue;
        rows.push_back({app::AppType::docker, container.name, container.name,
                        observe_container(container).state});
    }
    for (const ComposeService& service : docker.compose_services) {
        std::string identifier = service.identifier();
        if (!app::parse_compose_identifier(identifier)) continue;
        rows.push_back({app::AppType::compose, identifier, service.service,
                        observe_compose_service(service).state});
    }
}

void discover_processes(const ProcessDiscovery& processes, std::vector<DiscoveredApp>& rows) {
    for (const std::string& path : processes.paths()) {
        rows.push_back({app::AppType::process, path, basename_of(path), AppState::running});
    }
}

}  // namespace

void ProcessDiscovery::add(const Process& process) {
    if (options_.now_unix - process.start_time_unix < options_.min_process_age_secs) return;
    // A script names the app; else the executable, when it is a path on this host.
    const std::optional<std::string>* path = &process.script;
    if (!process.script && process.exe && !process.foreign_root) path = &process.exe;
    if (!*path || ends_with(**path, " (deleted)") || !app::is_absolute_normalized_path(**path)) {
        return;
    }
    paths_.insert(**path);
}

std::vector<DiscoveredApp> discover_apps(const Inventory& inventory,
                                         const DiscoveryOptions& options,
                                         const ProcessDiscovery* processes_seen) {
    std::vector<DiscoveredApp> rows;
    if (inventory.systemd && inventory.systemd->status.ok())
        discover_units(*inventory.systemd, rows);
    if (inventory.docker && inventory.docker->status.ok())
        discover_containers(*inventory.docker, rows);
    if (inventory.processes && inventory.processes->status.ok()) {
        if (processes_seen) {
            discover_processes(*processes_seen, rows);
        } else {
            ProcessDiscovery gathered(options);
            for (const Process& process : inventory.processes->processes) gathered.add(process);
            discover_processes(gathered, rows);
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const DiscoveredApp& a, const DiscoveredApp& b) {
        return a.type != b.type ? a.type < b.type : a.identifier < b.identifier;
    });
    return rows;
}

}  // namespace monsys::inventory
