#include "agent/inventory/collect.hpp"

#include <future>
#include <memory>
#include <thread>

#include "agent/inventory/host.hpp"
#include "agent/inventory/packages.hpp"
#include "agent/inventory/ports.hpp"
#include "agent/inventory/processes.hpp"

namespace monsys::inventory {
namespace {

using Clock = std::chrono::steady_clock;

// Time for a section that met its own deadline to hand its result over.
constexpr std::chrono::milliseconds handover_grace{250};

std::int64_t now_unix_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

template <class Result>
struct Pending {
    std::future<Result> future;
    bool started = false;
};

// Runs `work` on a detached thread: if it overruns, it is left behind rather than waited for.
template <class Result, class Work>
Pending<Result> start_section(Work work) {
    auto promise = std::make_shared<std::promise<Result>>();
    Pending<Result> pending{promise->get_future(), true};
    std::thread([promise, work = std::move(work)]() mutable {
        auto start = Clock::now();
        Result result = work();
        result.status.duration_ms = ms_since(start);
        promise->set_value(std::move(result));
    }).detach();
    return pending;
}

template <class Result>
std::optional<Result> finish_section(Pending<Result>& pending, Clock::time_point hard_deadline,
                                     std::chrono::milliseconds timeout, Clock::time_point start,
                                     bool& abandoned) {
    if (!pending.started) return std::nullopt;
    if (pending.future.wait_until(hard_deadline) == std::future_status::ready) {
        return pending.future.get();
    }
    abandoned = true;
    Result result;
    result.status.error = "timed out: no result within " + std::to_string(timeout.count()) + " ms";
    result.status.duration_ms = ms_since(start);
    return result;
}

SystemdSection systemd_section(const InventorySettings& settings, const SystemdQuery& query,
                               Clock::time_point deadline) {
    auto bus = io::systemd::Bus::open(settings.bus_settings());
    if (!bus) {
        SystemdSection section;
        section.bus = io::to_string(settings.systemd_bus);
        section.status.error = io::systemd::describe(bus.error());
        return section;
    }
    SystemdSection section = collect_systemd(*bus, query, deadline);
    section.bus = io::to_string(settings.systemd_bus);
    return section;
}

}  // namespace

const char* to_string(Section section) {
    switch (section) {
        case Section::systemd:
            return "systemd";
        case Section::docker:
            return "docker";
        case Section::processes:
            return "processes";
        case Section::packages:
            return "packages";
        case Section::ports:
            return "ports";
    }
    return "unknown";
}

Expected<std::set<Section>, std::string> parse_sections(std::string_view list) {
    std::set<Section> sections;
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view name = list.substr(0, comma);
        bool known = false;
        for (Section section : all_sections) {
            if (name == to_string(section)) {
                sections.insert(section);
                known = true;
            }
        }
        if (!known) {
            return unexpected("unknown section \"" + std::string(name) +
                              "\" (known: systemd, docker, processes, packages, ports)");
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    if (sections.empty()) return unexpected(std::string("no section named"));
    return sections;
}

CollectResult collect_inventory(const CollectRequest& request) {
    CollectResult result;
    Inventory& inventory = result.inventory;
    const auto start = Clock::now();
    inventory.collected_at_unix_usec = now_unix_usec();
    const InventorySettings settings = request.settings;
    const auto deadline = start + settings.source_timeout;
    const auto hard_deadline = deadline + handover_grace;
    auto wanted = [&request](Section section) { return request.sections.count(section) > 0; };

    Pending<SystemdSection> systemd;
    Pending<DockerSection> docker;
    Pending<ProcessesSection> processes;
    Pending<PackagesSection> packages;
    Pending<PortsSection> ports;
    if (wanted(Section::systemd)) {
        systemd = start_section<SystemdSection>([settings, query = request.systemd, deadline] {
            return systemd_section(settings, query, deadline);
        });
    }
    if (wanted(Section::docker)) {
        docker = start_section<DockerSection>([settings, query = request.docker, deadline] {
            return collect_docker(settings.docker_settings(), query, deadline);
        });
    }
    if (wanted(Section::processes)) {
        processes = start_section<ProcessesSection>([root = settings.root, deadline] {
            ProcessScanOptions options = default_process_scan_options();
            options.deadline = deadline;
            return read_processes(root, options);
        });
    }
    if (wanted(Section::packages)) {
        packages = start_section<PackagesSection>(
            [root = settings.root, deadline] { return read_packages(root, deadline); });
    }
    if (wanted(Section::ports)) {
        ports = start_section<PortsSection>(
            [root = settings.root, deadline] { return read_ports(root, deadline); });
    }

    auto host_start = Clock::now();
    inventory.host = read_host(settings.root);
    inventory.host.status.duration_ms = ms_since(host_start);

    bool& abandoned = result.abandoned_work;
    const auto timeout = settings.source_timeout;
    inventory.systemd = finish_section(systemd, hard_deadline, timeout, start, abandoned);
    if (inventory.systemd && inventory.systemd->bus.empty()) {
        inventory.systemd->bus = io::to_string(settings.systemd_bus);
    }
    inventory.docker = finish_section(docker, hard_deadline, timeout, start, abandoned);
    inventory.processes = finish_section(processes, hard_deadline, timeout, start, abandoned);
    inventory.packages = finish_section(packages, hard_deadline, timeout, start, abandoned);
    inventory.ports = finish_section(ports, hard_deadline, timeout, start, abandoned);

    DiscoveryOptions discovery;
    discovery.min_process_age_secs = request.min_process_age_secs;
    discovery.now_unix = inventory.collected_at_unix_usec / 1000000;
    inventory.discovered = discover_apps(inventory, discovery);
    inventory.duration_ms = ms_since(start);
    return result;
}

bool is_complete(const Inventory& inventory) {
    auto ok = [](const auto& section) { return !section || section->status.ok(); };
    return inventory.host.status.ok() && ok(inventory.systemd) && ok(inventory.docker) &&
           ok(inventory.processes) && ok(inventory.packages) && ok(inventory.ports);
}

}  // namespace monsys::inventory
