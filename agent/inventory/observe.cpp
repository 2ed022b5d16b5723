#include "agent/inventory/observe.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "agent/inventory/docker_containers.hpp"
#include "agent/inventory/processes.hpp"
#include "agent/inventory/systemd_units.hpp"

namespace monsys::inventory {
namespace {

using Clock = std::chrono::steady_clock;

bool wants(const std::vector<TrackedApp>& apps, std::initializer_list<app::AppType> types) {
    return std::any_of(apps.begin(), apps.end(), [types](const TrackedApp& tracked) {
        return std::find(types.begin(), types.end(), tracked.type) != types.end();
    });
}

SystemdSection observe_units(const InventorySettings& settings, const std::vector<TrackedApp>& apps,
                             io::systemd::Bus* bus) {
    SystemdSection section;
    section.bus = io::to_string(settings.systemd_bus);
    std::optional<io::systemd::Bus> own_bus;
    if (!bus) {
        io::SystemdBusSettings bus_settings;
        bus_settings.kind = settings.systemd_bus;
        bus_settings.call_timeout = settings.source_timeout;
        auto opened = io::systemd::Bus::open(bus_settings);
        if (!opened) {
            section.status.error = io::systemd::describe(opened.error());
            return section;
        }
        own_bus.emplace(std::move(*opened));
        bus = &*own_bus;
    }
    std::vector<std::string> names;
    for (const TrackedApp& tracked : apps) {
        if (tracked.type == app::AppType::systemd) names.push_back(tracked.identifier);
    }
    auto units = list_units_by_names(*bus, names);
    if (!units) {
        section.status.error = units.error();
        return section;
    }
    section.units = std::move(*units);
    return section;
}

DockerSection observe_containers(const InventorySettings& settings,
                                 io::docker::DockerClient* client) {
    std::optional<io::docker::DockerClient> own_client;
    if (!client) {
        io::DockerSettings docker_settings;
        docker_settings.socket_path = settings.docker_socket;
        docker_settings.timeout = settings.source_timeout;
        own_client.emplace(docker_settings);
        client = &*own_client;
    }
    return list_docker(*client);
}

}  // namespace

bool host_path_exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

std::vector<Observation> observe_apps(const InventorySettings& settings,
                                      const std::vector<TrackedApp>& apps,
                                      ObservationHandles handles) {
    const auto deadline = Clock::now() + settings.source_timeout;
    Inventory inventory;
    // The sources answer independently: the docker list and the /proc scan run beside the bus
    // call, so the whole takes as long as the slowest one. Each is bounded by its own timeout.
    std::future<DockerSection> docker;
    if (wants(apps, {app::AppType::docker, app::AppType::compose})) {
        docker = std::async(std::launch::async, [&settings, client = handles.docker] {
            return observe_containers(settings, client);
        });
    }
    std::future<ProcessesSection> processes;
    if (wants(apps, {app::AppType::process})) {
        ProcessScanOptions options = default_process_scan_options();
        options.identity_only = true;
        options.deadline = deadline;
        for (const TrackedApp& tracked : apps) {
            if (tracked.type == app::AppType::process) {
                options.wanted_paths.push_back(tracked.identifier);
            }
        }
        processes = std::async(std::launch::async, [root = settings.root, options] {
            return read_processes(root, options);
        });
    }
    if (wants(apps, {app::AppType::systemd})) {
        inventory.systemd = observe_units(settings, apps, handles.bus);
    }
    if (docker.valid()) inventory.docker = docker.get();
    if (processes.valid()) inventory.processes = processes.get();
    std::vector<Observation> observations;
    observations.reserve(apps.size());
    PathExists exists = [root = settings.root](const std::string& path) {
        return host_path_exists(root + path);
    };
    for (const TrackedApp& tracked : apps) {
        observations.push_back(observe(inventory, tracked.type, tracked.identifier, exists));
    }
    return observations;
}

}  // namespace monsys::inventory
