#include "common/inventory/observed_state.hpp"

#include <algorithm>
#include <initializer_list>

#include "common/app/identifier.hpp"
#include "common/inventory/process_scan.hpp"

namespace monsys::inventory {
namespace {

Observation running(std::string detail) {
    return {AppState::running, std::move(detail)};
}
Observation stopped(std::string detail) {
    return {AppState::stopped, std::move(detail)};
}
Observation unknown(std::string detail) {
    return {AppState::unknown, std::move(detail)};
}

// A section that failed or was not collected says nothing about its apps: never "stopped".
template <class Section>
std::optional<Observation> unusable_section(const std::optional<Section>& section,
                                            std::string_view source) {
    if (!section) return unknown(std::string(source) + " not collected");
    if (section->status.error) {
        return unknown(std::string(source) + " unavailable: " + *section->status.error);
    }
    return std::nullopt;
}

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> set) {
    return std::find(set.begin(), set.end(), value) != set.end();
}

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool names_container(const Container& container, std::string_view ref) {
    if (container.name == ref || container.id == ref) return true;
    // A short id, as `docker ps` prints it.
    return ref.size() >= 12 && is_hex(ref) && container.id.compare(0, ref.size(), ref) == 0;
}

}  // namespace

bool process_runs_path(const Process& process, std::string_view path) {
    if (process.script && *process.script == path) return true;
    if (!process.exe || process.foreign_root) return false;
    const std::string& exe = *process.exe;
    if (exe == path) return true;
    // argv[0] never carries the kernel's " (deleted)".
    if (process.identity == ProcessIdentity::cmdline) return false;
    // The binary was replaced (an upgrade) while the old one still runs.
    constexpr std::string_view deleted = " (deleted)";
    return exe.size() == path.size() + deleted.size() && exe.compare(0, path.size(), path) == 0 &&
           exe.compare(path.size(), deleted.size(), deleted) == 0;
}

bool process_may_run_path(const Process& process, std::string_view path) {
    if (!process.exe_denied || process.identity != ProcessIdentity::none) return false;
    auto basename = [](std::string_view file) {
        auto slash = file.rfind('/');
        return slash == std::string_view::npos ? file : file.substr(slash + 1);
    };
    std::string_view base = basename(path);
    if (!process.unresolved_script.empty() && basename(process.unresolved_script) == base) {
        return true;
    }
    // The kernel keeps the first 15 bytes of the executed file's name (TASK_COMM_LEN - 1).
    constexpr std::size_t comm_length = 15;
    return !process.name.empty() && process.name == base.substr(0, comm_length);
}

const char* to_string(ProcessIdentity identity) {
    switch (identity) {
        case ProcessIdentity::none:
            return "none";
        case ProcessIdentity::exe:
            return "exe";
        case ProcessIdentity::cmdline:
            return "cmdline";
    }
    return "none";
}

const char* to_string(AppState state) {
    switch (state) {
        case AppState::running:
            return "running";
        case AppState::stopped:
            return "stopped";
        case AppState::unknown:
            return "unknown";
    }
    return "unknown";
}

Observation observe_unit(const Unit& unit) {
    std::string states = unit.active_state + " (" + unit.sub_state + ")";
    if (unit.load_state == "not-loaded") return stopped("installed, not loaded");
    if (is_one_of(unit.active_state, {"active", "reloading"})) return running(states);
    if (unit.load_state == "not-found" && !unit.unit_file_state) return unknown("no such unit");
    if (is_one_of(unit.active_state, {"inactive", "failed", "deactivating"})) {
        return stopped(states);
    }
    if (unit.active_state == "activating") {
        // Between two attempts of Restart=, systemd shows the unit as activating/auto-restart.
        if (unit.sub_state == "auto-restart") return stopped(states + ": restart loop");
        return unknown(states + ": starting");
    }
    return unknown(states);
}

Observation observe_container(const Container& container) {
    std::string detail = container.state + ": " + container.status;
    if (container.state == "running") return running(detail);
    // "stopped", "configured", "initialized" and "stopping" are podman's words for the same.
    if (is_one_of(container.state, {"exited", "dead", "created", "paused", "restarting", "removing",
                                    "stopped", "configured", "initialized", "stopping"})) {
        return stopped(detail);
    }
    return unknown(detail);
}

Observation observe_compose_service(const ComposeService& service) {
    if (service.containers.empty()) return unknown("no container");
    std::string detail = std::to_string(service.running) + "/" +
                         std::to_string(service.containers.size()) + " running";
    if (service.running == static_cast<int>(service.containers.size())) return running(detail);
    return stopped(detail);
}

Observation observe_systemd(const Inventory& inventory, std::string_view unit_name) {
    if (auto unusable = unusable_section(inventory.systemd, "systemd")) return *unusable;
    const auto& units = inventory.systemd->units;
    auto found = std::find_if(units.begin(), units.end(),
                              [unit_name](const Unit& unit) { return unit.name == unit_name; });
    if (found == units.end()) return unknown("no such unit");
    return observe_unit(*found);
}

Observation observe_docker(const Inventory& inventory, std::string_view container) {
    if (auto unusable = unusable_section(inventory.docker, "docker")) return *unusable;
    const auto& containers = inventory.docker->containers;
    auto found = std::find_if(containers.begin(), containers.end(),
                              [container](const auto& c) { return names_container(c, container); });
    if (found == containers.end()) return unknown("no such container");
    return observe_container(*found);
}

Observation observe_compose(const Inventory& inventory, std::string_view identifier) {
    if (auto unusable = unusable_section(inventory.docker, "docker")) return *unusable;
    const auto& services = inventory.docker->compose_services;
    auto found = std::find_if(services.begin(), services.end(),
                              [identifier](const auto& s) { return s.identifier() == identifier; });
    if (found == services.end()) return unknown("no container");
    return observe_compose_service(*found);
}

Observation observe_process(const Inventory& inventory, std::string_view path,
                            const PathExists& path_exists) {
    if (auto unusable = unusable_section(inventory.processes, "processes")) return *unusable;
    const auto& section = *inventory.processes;
    // Processes are sorted by pid: the first match is the oldest-numbered one. The count is not
    // told: a targeted scan stops at the first match.
    for (const Process& process : section.processes) {
        if (process_runs_path(process, path)) {
            return running("pid " + std::to_string(process.pid) + identity_note(process.identity));
        }
    }
    // With hidepid in force the process may run under another user, out of sight.
    if (section.visibility.restricted) return unknown("not visible: /proc is mounted with hidepid");
    // Without privilege the executables of other users' processes cannot be read. Their command
    // lines identify most; one that names no path but may be the app leaves the state open.
    std::size_t maybe = 0;
    int first_maybe = 0;
    for (const Process& process : section.processes) {
        if (process_may_run_path(process, path) && maybe++ == 0) first_maybe = process.pid;
    }
    if (maybe > 0) {
        return unknown("not found, but " + std::to_string(maybe) +
                       " processes of other users may run it (pid " + std::to_string(first_maybe) +
                       "): neither their executable nor their command line could be read as a "
                       "path");
    }
    std::string path_text(path);
    if (path_exists && path_exists(path_text)) return stopped("no process runs it");
    return unknown("path does not exist");
}

Observation observe(const Inventory& inventory, app::AppType type, std::string_view identifier,
                    const PathExists& path_exists) {
    if (auto valid = app::check_identifier(type, identifier); !valid) {
        return unknown("invalid identifier: " + valid.error());
    }
    switch (type) {
        case app::AppType::systemd:
            return observe_systemd(inventory, identifier);
        case app::AppType::docker:
            return observe_docker(inventory, identifier);
        case app::AppType::compose:
            return observe_compose(inventory, identifier);
        case app::AppType::process:
            return observe_process(inventory, identifier, path_exists);
    }
    return unknown("unknown app type");
}

InventoryIndex::InventoryIndex(const Inventory& inventory) : inventory_(inventory) {
    if (!inventory.systemd || inventory.systemd->status.error) return;
    units_.reserve(inventory.systemd->units.size());
    for (const Unit& unit : inventory.systemd->units) units_.emplace(unit.name, &unit);
}

Observation InventoryIndex::observe(app::AppType type, std::string_view identifier,
                                    const PathExists& path_exists) const {
    // Only the common case is looked up here; every other one (another type, an invalid name, a
    // section missing or failed) takes observe()'s own path.
    if (type != app::AppType::systemd || unusable_section(inventory_.systemd, "systemd") ||
        !app::check_identifier(type, identifier)) {
        return inventory::observe(inventory_, type, identifier, path_exists);
    }
    auto found = units_.find(identifier);
    if (found == units_.end()) return unknown("no such unit");
    return observe_unit(*found->second);
}

}  // namespace monsys::inventory
