#include "common/inventory/inventory_writer.hpp"

#include <cmath>

#include "common/inventory/inventory_json.hpp"

// Every object below writes its keys in sorted order: that is the order of nlohmann::json's
// objects, and so of the document as to_json() gives it.
namespace monsys::inventory {
namespace {

double rounded_ms(double ms) {
    return std::round(ms * 100.0) / 100.0;
}

void write_status(JsonWriter& w, const SectionStatus& status) {
    w.key("duration_ms");
    w.number(rounded_ms(status.duration_ms));
    w.key("error");
    w.optional(status.error);
}

void write_ok(JsonWriter& w, const SectionStatus& status) {
    w.key("ok");
    w.boolean(status.ok());
}

void write_action_key(JsonWriter& w, const std::optional<ActionKeyInfo>& key) {
    if (!key) {
        w.null();
        return;
    }
    w.begin_object();
    w.key("jwk");
    w.begin_object();
    w.key("crv");
    w.string("Ed25519");
    w.key("kty");
    w.string("OKP");
    w.key("x");
    w.string(key->x);
    w.end_object();
    w.key("kid");
    w.string(key->kid);
    w.key("rotations");
    w.begin_array();
    for (const std::string& statement : key->rotations) w.string(statement);
    w.end_array();
    w.end_object();
}

void write_host(JsonWriter& w, const HostInfo& host) {
    w.begin_object();
    w.key("action_key");
    write_action_key(w, host.action_key);
    w.key("action_key_error");
    w.optional(host.action_key_error);
    w.key("agent_version");
    w.string(host.agent_version);
    w.key("boot_id");
    w.string(host.boot_id);
    write_status(w, host.status);
    w.key("hostname");
    w.string(host.hostname);
    w.key("kernel");
    w.string(host.kernel);
    w.key("machine_id");
    w.string(host.machine_id);
    write_ok(w, host.status);
    w.key("os");
    w.begin_object();
    w.key("id");
    w.string(host.os.id);
    w.key("name");
    w.string(host.os.name);
    w.key("pretty_name");
    w.string(host.os.pretty_name);
    w.key("version_codename");
    w.string(host.os.version_codename);
    w.key("version_id");
    w.string(host.os.version_id);
    w.end_object();
    w.key("uptime_secs");
    w.optional(host.uptime_secs);
    w.end_object();
}

void write_unit(JsonWriter& w, const Unit& unit) {
    w.begin_object();
    w.key("active_state");
    w.string(unit.active_state);
    w.key("description");
    w.string(unit.description);
    w.key("fragment_path");
    w.optional(unit.fragment_path);
    w.key("load_state");
    w.string(unit.load_state);
    w.key("main_pid");
    w.optional(unit.main_pid);
    w.key("name");
    w.string(unit.name);
    w.key("since");
    if (unit.since_unix_usec) {
        w.string(format_utc(*unit.since_unix_usec / 1000000));
    } else {
        w.null();
    }
    w.key("sub_state");
    w.string(unit.sub_state);
    w.key("unit_file_state");
    w.optional(unit.unit_file_state);
    w.end_object();
}

void write_systemd(JsonWriter& w, const SystemdSection& systemd) {
    w.begin_object();
    w.key("bus");
    w.string(systemd.bus);
    w.key("details_skipped");
    w.number(static_cast<std::uint64_t>(systemd.details_skipped));
    write_status(w, systemd.status);
    write_ok(w, systemd.status);
    w.key("units");
    w.begin_array();
    for (const Unit& unit : systemd.units) write_unit(w, unit);
    w.end_array();
    w.end_object();
}

void write_container(JsonWriter& w, const Container& container) {
    w.begin_object();
    w.key("created");
    w.string(format_utc(container.created_unix));
    w.key("id");
    w.string(container.id);
    w.key("image");
    w.string(container.image);
    w.key("labels");
    w.begin_object();
    for (const auto& [name, value] : container.labels) {
        w.key(name);
        w.string(value);
    }
    w.end_object();
    w.key("name");
    w.string(container.name);
    w.key("restart_count");
    w.optional(container.restart_count);
    w.key("started_at");
    w.optional(container.started_at);
    w.key("state");
    w.string(container.state);
    w.key("status");
    w.string(container.status);
    w.end_object();
}

void write_compose_service(JsonWriter& w, const ComposeService& service) {
    w.begin_object();
    w.key("containers");
    w.begin_array();
    for (const std::string& name : service.containers) w.string(name);
    w.end_array();
    w.key("identifier");
    w.string(service.identifier());
    w.key("project");
    w.string(service.project);
    w.key("running");
    w.number(service.running);
    w.key("service");
    w.string(service.service);
    w.key("total");
    w.number(static_cast<std::uint64_t>(service.containers.size()));
    w.end_object();
}

void write_docker(JsonWriter& w, const DockerSection& docker) {
    w.begin_object();
    w.key("api_version");
    w.string(docker.api_version);
    w.key("compose_services");
    w.begin_array();
    for (const ComposeService& service : docker.compose_services) write_compose_service(w, service);
    w.end_array();
    w.key("containers");
    w.begin_array();
    for (const Container& container : docker.containers) write_container(w, container);
    w.end_array();
    write_status(w, docker.status);
    w.key("inspect_skipped");
    w.number(static_cast<std::uint64_t>(docker.inspect_skipped));
    write_ok(w, docker.status);
    w.end_object();
}

bool write_processes(JsonWriter& w, const ProcessesSection& processes, const SpooledRows* spooled) {
    bool complete = true;
    w.begin_object();
    write_status(w, processes.status);
    write_ok(w, processes.status);
    w.key("processes");
    w.begin_array();
    if (spooled) {
        for (const SpooledRows::Part& part : spooled->parts) {
            if (part.count == 0) continue;
            w.begin_splice();
            complete = part.text->copy_to(w.sink()) && complete;
            w.end_splice(part.count);
        }
    } else {
        for (const Process& process : processes.processes) write_process_row(w, process);
    }
    w.end_array();
    w.key("vanished");
    w.number(static_cast<std::uint64_t>(processes.vanished));
    w.key("visibility");
    w.begin_object();
    w.key("exe_denied");
    w.number(static_cast<std::uint64_t>(processes.visibility.exe_denied));
    w.key("hidepid");
    w.optional(processes.visibility.hidepid);
    w.key("inaccessible");
    w.number(static_cast<std::uint64_t>(processes.visibility.inaccessible));
    w.key("restricted");
    w.boolean(processes.visibility.restricted);
    w.end_object();
    w.end_object();
    return complete;
}

void write_packages(JsonWriter& w, const PackagesSection& packages) {
    w.begin_object();
    write_status(w, packages.status);
    w.key("manager");
    w.string(packages.manager);
    write_ok(w, packages.status);
    w.key("packages");
    w.begin_array();
    for (const Package& package : packages.packages) {
        w.begin_object();
        w.key("architecture");
        w.string(package.architecture);
        w.key("name");
        w.string(package.name);
        w.key("status");
        w.string(package.status);
        w.key("version");
        w.string(package.version);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void write_ports(JsonWriter& w, const PortsSection& ports) {
    w.begin_object();
    write_status(w, ports.status);
    write_ok(w, ports.status);
    w.key("ports");
    w.begin_array();
    for (const ListeningPort& port : ports.ports) {
        w.begin_object();
        w.key("address");
        w.string(port.address);
        w.key("exe");
        w.optional(port.exe);
        w.key("family");
        w.string(port.family);
        w.key("inode");
        w.number(port.inode);
        w.key("pid");
        w.optional(port.pid);
        w.key("port");
        w.number(static_cast<unsigned>(port.port));
        w.key("protocol");
        w.string(port.protocol);
        w.key("uid");
        w.number(static_cast<unsigned>(port.uid));
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void write_discovered(JsonWriter& w, const std::vector<DiscoveredApp>& discovered) {
    w.begin_array();
    for (const DiscoveredApp& app : discovered) {
        w.begin_object();
        w.key("identifier");
        w.string(app.identifier);
        w.key("name");
        w.string(app.name);
        w.key("state");
        w.string(to_string(app.state));
        w.key("type");
        w.string(app::to_string(app.type));
        w.end_object();
    }
    w.end_array();
}

}  // namespace

void write_process_row(JsonWriter& w, const Process& process) {
    w.begin_object();
    w.key("cmdline");
    w.string(process.cmdline);
    w.key("cmdline_truncated");
    w.boolean(process.cmdline_truncated);
    w.key("exe");
    w.optional(process.exe);
    w.key("exe_denied");
    w.boolean(process.exe_denied);
    w.key("foreign_root");
    w.boolean(process.foreign_root);
    w.key("identity");
    if (process.identity == ProcessIdentity::none) {
        w.null();
    } else {
        w.string(to_string(process.identity));
    }
    w.key("name");
    w.string(process.name);
    w.key("pid");
    w.number(process.pid);
    w.key("ppid");
    w.number(process.ppid);
    w.key("rss_bytes");
    w.number(process.rss_bytes);
    w.key("script");
    w.optional(process.script);
    w.key("start_time");
    w.string(format_utc(process.start_time_unix));
    w.key("state");
    w.string(std::string_view(&process.state, 1));
    w.key("uid");
    w.number(static_cast<unsigned>(process.uid));
    w.key("user");
    w.string(process.user);
    w.end_object();
}

bool write_inventory(JsonWriter& w, const Inventory& inventory, const SpooledRows* process_rows) {
    bool complete = true;
    w.begin_object();
    w.key("collected_at");
    w.string(format_utc(inventory.collected_at_unix_usec / 1000000));
    w.key("discovered");
    write_discovered(w, inventory.discovered);
    if (inventory.docker) {
        w.key("docker");
        write_docker(w, *inventory.docker);
    }
    w.key("duration_ms");
    w.number(rounded_ms(inventory.duration_ms));
    w.key("host");
    write_host(w, inventory.host);
    if (inventory.packages) {
        w.key("packages");
        write_packages(w, *inventory.packages);
    }
    if (inventory.ports) {
        w.key("ports");
        write_ports(w, *inventory.ports);
    }
    if (inventory.processes) {
        w.key("processes");
        complete = write_processes(w, *inventory.processes, process_rows);
    }
    w.key("schema_version");
    w.number(schema_version);
    if (inventory.systemd) {
        w.key("systemd");
        write_systemd(w, *inventory.systemd);
    }
    w.end_object();
    w.flush();
    return complete;
}

}  // namespace monsys::inventory
