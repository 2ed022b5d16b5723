#include "common/inventory/inventory_json.hpp"

#include <cmath>
#include <ctime>

namespace monsys::inventory {
namespace {

using nlohmann::json;

template <class T>
json optional_value(const std::optional<T>& value) {
    return value ? json(*value) : json(nullptr);
}

double rounded_ms(double ms) {
    return std::round(ms * 100.0) / 100.0;
}

json section_header(const SectionStatus& status) {
    json section = json::object();
    section["ok"] = status.ok();
    section["error"] = optional_value(status.error);
    section["duration_ms"] = rounded_ms(status.duration_ms);
    return section;
}

json action_key_json(const std::optional<ActionKeyInfo>& key) {
    if (!key) return nullptr;
    return {{"kid", key->kid},
            {"jwk", {{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", key->x}}},
            {"rotations", key->rotations}};
}

json host_json(const HostInfo& host) {
    json section = section_header(host.status);
    section["action_key"] = action_key_json(host.action_key);
    section["action_key_error"] = optional_value(host.action_key_error);
    section["hostname"] = host.hostname;
    section["machine_id"] = host.machine_id;
    section["boot_id"] = host.boot_id;
    section["os"] = {{"id", host.os.id},
                     {"version_id", host.os.version_id},
                     {"name", host.os.name},
                     {"pretty_name", host.os.pretty_name},
                     {"version_codename", host.os.version_codename}};
    section["kernel"] = host.kernel;
    section["uptime_secs"] = optional_value(host.uptime_secs);
    section["agent_version"] = host.agent_version;
    return section;
}

json systemd_json(const SystemdSection& systemd) {
    json section = section_header(systemd.status);
    section["bus"] = systemd.bus;
    section["details_skipped"] = systemd.details_skipped;
    json units = json::array();
    for (const Unit& unit : systemd.units) {
        units.push_back({
            {"name", unit.name},
            {"description", unit.description},
            {"load_state", unit.load_state},
            {"active_state", unit.active_state},
            {"sub_state", unit.sub_state},
            {"unit_file_state", optional_value(unit.unit_file_state)},
            {"main_pid", optional_value(unit.main_pid)},
            {"since", unit.since_unix_usec ? json(format_utc(*unit.since_unix_usec / 1000000))
                                           : json(nullptr)},
            {"fragment_path", optional_value(unit.fragment_path)},
        });
    }
    section["units"] = std::move(units);
    return section;
}

json docker_json(const DockerSection& docker) {
    json section = section_header(docker.status);
    section["api_version"] = docker.api_version;
    section["inspect_skipped"] = docker.inspect_skipped;
    json containers = json::array();
    for (const Container& container : docker.containers) {
        containers.push_back({
            {"id", container.id},
            {"name", container.name},
            {"image", container.image},
            {"state", container.state},
            {"status", container.status},
            {"created", format_utc(container.created_unix)},
            {"started_at", optional_value(container.started_at)},
            {"restart_count", optional_value(container.restart_count)},
            {"labels", container.labels},
        });
    }
    section["containers"] = std::move(containers);
    json services = json::array();
    for (const ComposeService& service : docker.compose_services) {
        services.push_back({
            {"identifier", service.identifier()},
            {"project", service.project},
            {"service", service.service},
            {"containers", service.containers},
            {"running", service.running},
            {"total", service.containers.size()},
        });
    }
    section["compose_services"] = std::move(services);
    return section;
}

json processes_json(const ProcessesSection& processes) {
    json section = section_header(processes.status);
    section["visibility"] = {{"hidepid", optional_value(processes.visibility.hidepid)},
                             {"restricted", processes.visibility.restricted},
                             {"inaccessible", processes.visibility.inaccessible},
                             {"exe_denied", processes.visibility.exe_denied}};
    section["vanished"] = processes.vanished;
    json rows = json::array();
    for (const Process& process : processes.processes) {
        rows.push_back({
            {"pid", process.pid},
            {"ppid", process.ppid},
            {"uid", process.uid},
            {"user", process.user},
            {"name", process.name},
            {"exe", optional_value(process.exe)},
            {"script", optional_value(process.script)},
            {"identity", process.identity == ProcessIdentity::none
                             ? json(nullptr)
                             : json(to_string(process.identity))},
            {"exe_denied", process.exe_denied},
            {"cmdline", process.cmdline},
            {"cmdline_truncated", process.cmdline_truncated},
            {"state", std::string(1, process.state)},
            {"start_time", format_utc(process.start_time_unix)},
            {"rss_bytes", process.rss_bytes},
            {"foreign_root", process.foreign_root},
        });
    }
    section["processes"] = std::move(rows);
    return section;
}

json packages_json(const PackagesSection& packages) {
    json section = section_header(packages.status);
    section["manager"] = packages.manager;
    json rows = json::array();
    for (const Package& package : packages.packages) {
        rows.push_back({{"name", package.name},
                        {"version", package.version},
                        {"architecture", package.architecture},
                        {"status", package.status}});
    }
    section["packages"] = std::move(rows);
    return section;
}

json ports_json(const PortsSection& ports) {
    json section = section_header(ports.status);
    json rows = json::array();
    for (const ListeningPort& port : ports.ports) {
        rows.push_back({{"protocol", port.protocol},
                        {"family", port.family},
                        {"address", port.address},
                        {"port", port.port},
                        {"uid", port.uid},
                        {"inode", port.inode},
                        {"pid", optional_value(port.pid)},
                        {"exe", optional_value(port.exe)}});
    }
    section["ports"] = std::move(rows);
    return section;
}

}  // namespace

std::string format_utc(std::int64_t unix_secs) {
    std::time_t time = static_cast<std::time_t>(unix_secs);
    std::tm utc{};
    if (!gmtime_r(&time, &utc)) return "";
    char text[32];
    std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(text, length);
}

nlohmann::json to_json(const Inventory& inventory) {
    json document = json::object();
    document["schema_version"] = schema_version;
    document["collected_at"] = format_utc(inventory.collected_at_unix_usec / 1000000);
    document["duration_ms"] = rounded_ms(inventory.duration_ms);
    document["host"] = host_json(inventory.host);
    if (inventory.systemd) document["systemd"] = systemd_json(*inventory.systemd);
    if (inventory.docker) document["docker"] = docker_json(*inventory.docker);
    if (inventory.processes) document["processes"] = processes_json(*inventory.processes);
    if (inventory.packages) document["packages"] = packages_json(*inventory.packages);
    if (inventory.ports) document["ports"] = ports_json(*inventory.ports);
    json discovered = json::array();
    for (const DiscoveredApp& app : inventory.discovered) {
        discovered.push_back({{"type", app::to_string(app.type)},
                              {"identifier", app.identifier},
                              {"name", app.name},
                              {"state", to_string(app.state)}});
    }
    document["discovered"] = std::move(discovered);
    return document;
}

}  // namespace monsys::inventory
