#include "agent/daemon/daemon_io.hpp"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "agent/observe/docker_source.hpp"
#include "agent/observe/process_source.hpp"
#include "agent/observe/systemd_source.hpp"
#include "agent/status/status_file.hpp"
#include "common/inventory/json_writer.hpp"
#include "common/util/log.hpp"

namespace monsys::agent::daemon {
namespace {

observe::SourceFactories real_sources(asio::any_io_executor executor,
                                      const inventory::InventorySettings& inv) {
    observe::SourceFactories factories;
    factories.units = [executor, bus = inv.bus_settings()](observe::SourceEvents events) {
        return observe::make_systemd_source(executor, bus, std::move(events));
    };
    factories.containers = [executor,
                            docker = inv.docker_settings()](observe::SourceEvents events) {
        return observe::make_docker_source(executor, docker, std::move(events));
    };
    factories.processes = [executor, root = inv.root,
                           timeout = inv.source_timeout](observe::SourceEvents events) {
        return observe::make_process_source(executor, root, timeout, std::move(events));
    };
    return factories;
}

std::map<std::string, std::string> section_errors(const inventory::Inventory& inv) {
    std::map<std::string, std::string> errors;
    auto report = [&errors](const char* name, const auto& section) {
        if (section && section->status.error) {
            log::warning(std::string("inventory: section ") + name + ": " + *section->status.error);
            errors[name] = *section->status.error;
        }
    };
    report("systemd", inv.systemd);
    report("docker", inv.docker);
    report("processes", inv.processes);
    report("packages", inv.packages);
    report("ports", inv.ports);
    return errors;
}

// The document is written as it is collected (its memory does not grow with the number of
// processes) and goes into the message as text, never parsed back into a tree.
CollectedInventory write_inventory(const inventory::CollectRequest& request) {
    CollectedInventory collected;
    inventory::StringSink sink(collected.text);
    auto written = inventory::write_inventory_document(request, sink);
    collected.section_errors = section_errors(written.summary);
    if (!written.written) {
        log::error("inventory: the document could not be written; not sent");
        collected.text.clear();
    }
    return collected;
}

std::chrono::milliseconds watchdog_period_from_environment() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::microseconds(usec / 3));
}

}  // namespace

DaemonIo real_daemon_io(asio::any_io_executor executor, const AgentSetup& setup) {
    DaemonIo io;
    io.connect = hub::websocket_link_io(executor, setup.tls).connect;
    io.sources = real_sources(executor, setup.inventory_settings);
    io.collect_inventory = write_inventory;
    io.notify = [](const std::string& text) { sd_notify(0, text.c_str()); };
    io.watchdog_period = watchdog_period_from_environment();
    io.path_exists = [root = setup.inventory_settings.root](const std::string& path) {
        struct stat info {};
        return ::stat((root + path).c_str(), &info) == 0;
    };
    io.status_file.write = [file = setup.config.status_file](const std::string& text) {
        return status::write_status_file(file, text);
    };
    io.status_file.touch = [file = setup.config.status_file]() {
        return status::touch_status_file(file);
    };
    io.status_file.remove = [file = setup.config.status_file]() {
        status::remove_status_file(file);
    };
    io.self = status::own_process_identity();
    return io;
}

}  // namespace monsys::agent::daemon
