#include "agent/inventory/collect.hpp"

#include <memory>
#include <thread>

#include "agent/inventory/action_key_fact.hpp"
#include "agent/inventory/host.hpp"
#include "agent/inventory/packages.hpp"
#include "agent/inventory/ports.hpp"
#include "agent/inventory/proc_walk.hpp"
#include "agent/inventory/processes.hpp"
#include "common/inventory/inventory_writer.hpp"
#include "common/inventory/text_spool.hpp"

namespace monsys::inventory {
namespace {

using Clock = std::chrono::steady_clock;

// A section that met its own deadline still needs a moment to hand its result over; one that
// comes back later than this is reported as timed out (its rows are kept).
constexpr std::chrono::milliseconds handover_grace{250};

std::int64_t now_unix_usec() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::chrono::milliseconds left_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds(1));
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
    // Each call may take what is left of the section's time, not a whole timeout of its own.
    bus->set_call_timeout(std::min(bus->call_timeout(), left_until(deadline)));
    SystemdSection section = collect_systemd(*bus, query, deadline);
    section.bus = io::to_string(settings.systemd_bus);
    return section;
}

// One section on a worker thread that the collection joins before it returns.
template <class Section>
class Worker {
  public:
    template <class Work>
    explicit Worker(Work work)
        : thread_([this, work = std::move(work)]() mutable {
              auto start = Clock::now();
              result_ = work();
              result_.status.duration_ms = ms_since(start);
              finished_at_ = Clock::now();
          }) {}

    ~Worker() {
        if (thread_.joinable()) thread_.join();
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Joins the thread; a result later than `hard_deadline` says so in its error.
    Section take(Clock::time_point hard_deadline, std::chrono::milliseconds timeout) {
        thread_.join();
        if (finished_at_ > hard_deadline && result_.status.ok()) {
            result_.status.error =
                "timed out: no result within " + std::to_string(timeout.count()) + " ms";
        }
        return std::move(result_);
    }

  private:
    Section result_;
    Clock::time_point finished_at_;
    std::thread thread_;  // last: it starts once the members it writes exist
};

// What a collection does with the process rows of one part of the walk as it reads them.
struct RowSink {
    virtual ~RowSink() = default;
    virtual void take(Process& row) = 0;
};

// How many parts the /proc walk is split into: one per core, at most two. Reading /proc is
// system time spent in the kernel for each process; two threads halve the wall time on an idle
// 2-core host, more add little beside the manager and engine the other sections wait on.
std::size_t walk_parts() {
    unsigned cores = std::thread::hardware_concurrency();
    return cores >= 2 ? 2 : 1;
}

// Runs every requested section. The process rows go to `rows` (one sink per part of the walk,
// the parts in pid order) one by one; the returned inventory has no process rows and no
// discovered apps yet.
Inventory collect_sections(const CollectRequest& request, std::int64_t collected_at_unix_usec,
                           const std::vector<RowSink*>& rows) {
    Inventory inventory;
    const auto start = Clock::now();
    inventory.collected_at_unix_usec = collected_at_unix_usec;
    const InventorySettings& settings = request.settings;
    const auto timeout = settings.source_timeout;
    const auto deadline = start + timeout;
    const auto hard_deadline = deadline + handover_grace;
    auto wanted = [&request](Section section) { return request.sections.count(section) > 0; };

    // The workers start first: they mostly wait on the manager and the engine while this
    // thread reads /proc.
    std::optional<Worker<SystemdSection>> systemd;
    std::optional<Worker<DockerSection>> docker;
    if (wanted(Section::systemd)) {
        systemd.emplace([settings, query = request.systemd, deadline] {
            return systemd_section(settings, query, deadline);
        });
    }
    if (wanted(Section::docker)) {
        docker.emplace([settings, query = request.docker, deadline] {
            return collect_docker(settings.docker_settings(), query, deadline);
        });
    }

    auto host_start = Clock::now();
    inventory.host = read_host(settings.root);
    auto action_key = read_action_key_fact(settings.action_key_dir);
    inventory.host.action_key = std::move(action_key.key);
    inventory.host.action_key_error = std::move(action_key.error);
    inventory.host.status.duration_ms = ms_since(host_start);

    const bool want_processes = wanted(Section::processes);
    const bool want_ports = wanted(Section::ports);
    if (want_processes || want_ports) {
        const auto walk_start = Clock::now();
        ProcWalkRequest walk;
        walk.processes = want_processes;
        std::optional<PortsSection> ports;
        if (want_ports) {
            ports = read_port_tables(settings.root);
            if (ports->status.ok()) walk.socket_inodes = socket_inodes_of(*ports);
        }
        const double tables_ms = ms_since(walk_start);
        const auto proc_start = Clock::now();
        ProcWalkResult walked;
        if (want_processes || !walk.socket_inodes.empty()) {
            ProcessScanOptions options = default_process_scan_options();
            options.deadline = deadline;
            std::vector<ProcessRowHandler> handlers;
            for (RowSink* sink : rows) {
                handlers.emplace_back([sink](Process& row) { sink->take(row); });
            }
            walked = walk_proc_in_parts(settings.root, options, walk, handlers);
        }
        const double walk_ms = ms_since(proc_start);
        if (want_processes) {
            inventory.processes = std::move(walked.section);
            inventory.processes->status.duration_ms = walk_ms;
        }
        if (ports) {
            if (ports->status.ok()) finish_ports(*ports, walked.socket_owners);
            // The walk is shared: each of the two sections counts it whole.
            ports->status.duration_ms = tables_ms + walk_ms;
            inventory.ports = std::move(ports);
        }
    }
    if (wanted(Section::packages)) {
        const auto packages_start = Clock::now();
        inventory.packages = read_packages(settings.root, deadline);
        inventory.packages->status.duration_ms = ms_since(packages_start);
    }

    if (systemd) {
        inventory.systemd = systemd->take(hard_deadline, timeout);
        if (inventory.systemd->bus.empty()) {
            inventory.systemd->bus = io::to_string(settings.systemd_bus);
        }
    }
    if (docker) inventory.docker = docker->take(hard_deadline, timeout);
    inventory.duration_ms = ms_since(start);
    return inventory;
}

// Discovery's clock is the collection's start (collected_at).
DiscoveryOptions discovery_options(const CollectRequest& request,
                                   std::int64_t collected_at_unix_usec) {
    DiscoveryOptions discovery;
    discovery.min_process_age_secs = request.min_process_age_secs;
    discovery.now_unix = collected_at_unix_usec / 1000000;
    return discovery;
}

// The model's way: every row kept.
struct KeepRows final : RowSink {
    std::vector<Process> rows;
    void take(Process& row) override { rows.push_back(std::move(row)); }
};

// The streaming way: each row written to the part's spool and handed to discovery, then dropped.
struct SpoolRows final : RowSink {
    SpoolRows(int indent, DiscoveryOptions discovery)
        : writer(spool, indent, process_row_depth), seen(discovery) {}
    void take(Process& row) override {
        write_process_row(writer, row);
        seen.add(row);
        ++count;
    }
    TextSpool spool;
    JsonWriter writer;
    ProcessDiscovery seen;
    std::size_t count = 0;
};

template <class Sink>
std::vector<RowSink*> pointers_to(std::vector<std::unique_ptr<Sink>>& sinks) {
    std::vector<RowSink*> pointers;
    for (auto& sink : sinks) pointers.push_back(sink.get());
    return pointers;
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
    std::vector<std::unique_ptr<KeepRows>> parts;
    for (std::size_t i = 0; i < walk_parts(); ++i) parts.push_back(std::make_unique<KeepRows>());
    const std::int64_t collected_at = now_unix_usec();
    result.inventory = collect_sections(request, collected_at, pointers_to(parts));
    Inventory& inventory = result.inventory;
    if (inventory.processes) {
        for (auto& part : parts) {
            for (Process& row : part->rows)
                inventory.processes->processes.push_back(std::move(row));
        }
    }
    inventory.discovered = discover_apps(inventory, discovery_options(request, collected_at));
    return result;
}

WrittenInventory write_inventory_document(const CollectRequest& request, TextSink& out,
                                          int indent) {
    WrittenInventory result;
    const std::int64_t collected_at = now_unix_usec();
    const DiscoveryOptions discovery = discovery_options(request, collected_at);
    std::vector<std::unique_ptr<SpoolRows>> parts;
    for (std::size_t i = 0; i < walk_parts(); ++i) {
        parts.push_back(std::make_unique<SpoolRows>(indent, discovery));
    }
    Inventory& inventory = result.summary;
    inventory = collect_sections(request, collected_at, pointers_to(parts));
    ProcessDiscovery seen(discovery);
    SpooledRows spooled;
    for (auto& part : parts) {
        part->writer.flush();
        seen.merge(part->seen);
        spooled.parts.push_back({&part->spool, part->count});
    }
    inventory.discovered = discover_apps(inventory, discovery, &seen);
    JsonWriter writer(out, indent);
    result.written = write_inventory(writer, inventory, &spooled);
    return result;
}

bool is_complete(const Inventory& inventory) {
    auto ok = [](const auto& section) { return !section || section->status.ok(); };
    return inventory.host.status.ok() && ok(inventory.systemd) && ok(inventory.docker) &&
           ok(inventory.processes) && ok(inventory.packages) && ok(inventory.ports);
}

}  // namespace monsys::inventory
