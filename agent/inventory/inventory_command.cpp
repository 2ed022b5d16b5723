#include "agent/inventory/inventory_command.hpp"

#include "agent/inventory/collect.hpp"
#include "common/inventory/inventory_json.hpp"

namespace monsys::agent {

InventoryCommandResult run_inventory_command(const InventoryCommandOptions& options,
                                             std::ostream& out, std::ostream& err) {
    InventoryCommandResult result;
    auto settings = inventory::load_inventory_settings(options.config_path);
    if (!settings) {
        err << "monsys-agent: " << settings.error() << "\n";
        result.exit_status = exit_usage;
        return result;
    }
    inventory::CollectRequest request;
    request.settings = *settings;
    if (options.sections) {
        auto sections = inventory::parse_sections(*options.sections);
        if (!sections) {
            err << "monsys-agent: --section: " << sections.error() << "\n";
            result.exit_status = exit_usage;
            return result;
        }
        request.sections = *sections;
    }
    auto collected = inventory::collect_inventory(request);
    result.abandoned_work = collected.abandoned_work;
    // /proc and engine strings need not be UTF-8: replace what is not rather than fail.
    out << inventory::to_json(collected.inventory)
               .dump(options.pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    out.flush();
    if (!inventory::is_complete(collected.inventory)) {
        result.exit_status = exit_incomplete;
        auto report = [&err](const char* name, const auto& section) {
            if (section && section->status.error) {
                err << "monsys-agent: " << name << ": " << *section->status.error << "\n";
            }
        };
        report("systemd", collected.inventory.systemd);
        report("docker", collected.inventory.docker);
        report("processes", collected.inventory.processes);
        report("packages", collected.inventory.packages);
        report("ports", collected.inventory.ports);
    }
    return result;
}

}  // namespace monsys::agent
