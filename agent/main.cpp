// monsys-agent: parses the command line and hands over. Nothing else lives here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "agent/inventory/inventory_command.hpp"
#include "common/build_info.hpp"

int main(int argc, char** argv) {
    CLI::App cli{"monsys-agent: the monsys host agent"};
    cli.set_version_flag("--version", std::string("monsys-agent ") + monsys::build_info::version);
    cli.require_subcommand(1);

    monsys::agent::InventoryCommandOptions inventory;
    auto* inventory_command =
        cli.add_subcommand("inventory", "Print this host's inventory as JSON (needs no hub)");
    inventory_command->add_option("--config", inventory.config_path,
                                  std::string("Configuration file (default ") +
                                      monsys::build_info::default_config_path + ", if it exists)");
    inventory_command->add_option("--section", inventory.sections,
                                  "Comma-separated: systemd,docker,processes,packages,ports "
                                  "(default: all; host is always included)");
    inventory_command->add_flag("--pretty", inventory.pretty, "Indent the JSON");

    CLI11_PARSE(cli, argc, argv);

    if (*inventory_command) {
        auto result = monsys::agent::run_inventory_command(inventory, std::cout, std::cerr);
        if (result.abandoned_work) {
            // A source thread is still stuck in a read; do not tear statics down under it.
            std::cout.flush();
            std::cerr.flush();
            std::_Exit(result.exit_status);
        }
        return result.exit_status;
    }
    return monsys::agent::exit_usage;
}
