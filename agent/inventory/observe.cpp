#include "agent/inventory/observe.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <future>

#include "agent/inventory/docker_containers.hpp"
#include "agent/inventory/systemd_units.hpp"
#include "common/inventory/process_scan.hpp"

namespace monsys::inventory {
namespace {

using Clock = std::chrono::steady_clock;

bool wants(const std::vector<TrackedApp>& apps, std::initializer_list<app::AppType> types) {
    return std::any_of(apps.begin(), apps.end(), [types](const TrackedApp& tracked) {
        return std::find(types.begin(), types.end(), tracked.type) != types.end();
    });
}

}  // namespace

bool host_path_exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

bool container_list_still_valid(std::uint64_t listed_generation, Clock::duration age,
                                const io::docker::EventStreamSnapshot& now,
                                Clock::duration max_age) {
    return now.live && now.generation == listed_generation && age >= Clock::duration::zero() &&
           age < max_age;
}

AppObserver::AppObserver(InventorySettings settings,
                         std::optional<asio::any_io_executor> watch_executor)
    : settings_(std::move(settings)), watch_executor_(std::move(watch_executor)) {}

AppObserver::~AppObserver() {
    if (watch_) watch_->stop();
}

SystemdSection AppObserver::observe_units(const std::vector<TrackedApp>& apps) {
    SystemdSection section;
    section.bus = io::to_string(settings_.systemd_bus);
    if (!bus_) {
        auto opened = io::systemd::Bus::open(settings_.bus_settings());
        if (!opened) {
            section.status.error = io::systemd::describe(opened.error());
            return section;
        }
        bus_.emplace(std::move(*opened));
    }
    std::vector<std::string> names;
    for (const TrackedApp& tracked : apps) {
        if (tracked.type == app::AppType::systemd) names.push_back(tracked.identifier);
    }
    auto units = list_units_by_names(*bus_, names);
    if (!units) {
        section.status.error = units.error();
        bus_.reset();  // the next round starts on a new connection
        return section;
    }
    section.units = std::move(*units);
    return section;
}

// Only the process apps whose path exists: a path that does not is unknown without a scan. The
// pid that ran a path last round is looked at first: while it still runs it, no scan is needed.
ProcessesSection AppObserver::observe_processes(const std::vector<TrackedApp>& apps,
                                                Clock::time_point deadline) {
    PathScanOptions options;
    options.first_match_only = true;
    options.deadline = deadline;
    for (const TrackedApp& tracked : apps) {
        if (tracked.type != app::AppType::process ||
            !host_path_exists(settings_.root + tracked.identifier)) {
            continue;
        }
        options.paths.push_back(tracked.identifier);
        if (auto last = last_pids_.find(tracked.identifier); last != last_pids_.end()) {
            options.hint_pids.push_back(last->second);
        }
    }
    last_pids_.clear();
    if (options.paths.empty()) return ProcessesSection{};
    ProcessesSection section = scan_processes_running(open_proc_tree(settings_.root), options);
    for (const Process& process : section.processes) {
        for (const std::string& path : options.paths) {
            if (process_runs_path(process, path)) last_pids_.emplace(path, process.pid);
        }
    }
    return section;
}

DockerSection AppObserver::observe_containers() {
    reused_container_list_ = false;
    if (!watch_ && watch_executor_) {
        watch_ =
            io::docker::ContainerEventWatch::start(*watch_executor_, settings_.docker_settings());
    }
    const auto before = watch_ ? watch_->snapshot() : io::docker::EventStreamSnapshot{};
    if (containers_ &&
        container_list_still_valid(containers_->generation, Clock::now() - containers_->listed_at,
                                   before, max_container_list_age)) {
        reused_container_list_ = true;
        return containers_->section;
    }
    containers_.reset();
    if (!docker_) docker_.emplace(settings_.docker_settings());
    auto started = Clock::now();
    DockerSection section = list_docker(*docker_);
    if (!section.status.ok()) {
        docker_.reset();  // negotiate the API version again next time
        return section;
    }
    // Only a list made while the stream was live can stand for later rounds: an event after
    // `before` (even one during the list) moves the generation on.
    if (before.live) containers_ = ContainerList{section, before.generation, started};
    return section;
}

std::vector<Observation> AppObserver::observe(const std::vector<TrackedApp>& apps) {
    const auto deadline = Clock::now() + settings_.source_timeout;
    Inventory inventory;
    // The sources answer independently: the container list and the /proc scan run beside the
    // bus call, so a round takes as long as its slowest source, each bounded by its timeout.
    std::future<DockerSection> docker;
    if (wants(apps, {app::AppType::docker, app::AppType::compose})) {
        docker = std::async(std::launch::async, [this] { return observe_containers(); });
    }
    std::future<ProcessesSection> processes;
    if (wants(apps, {app::AppType::process})) {
        processes = std::async(std::launch::async, [this, &apps, deadline] {
            return observe_processes(apps, deadline);
        });
    }
    if (wants(apps, {app::AppType::systemd})) inventory.systemd = observe_units(apps);
    if (docker.valid()) inventory.docker = docker.get();
    if (processes.valid()) inventory.processes = processes.get();

    std::vector<Observation> observations;
    observations.reserve(apps.size());
    PathExists exists = [root = settings_.root](const std::string& path) {
        return host_path_exists(root + path);
    };
    for (const TrackedApp& tracked : apps) {
        observations.push_back(
            monsys::inventory::observe(inventory, tracked.type, tracked.identifier, exists));
    }
    return observations;
}

std::vector<Observation> observe_apps(const InventorySettings& settings,
                                      const std::vector<TrackedApp>& apps) {
    AppObserver observer(settings);
    return observer.observe(apps);
}

}  // namespace monsys::inventory
