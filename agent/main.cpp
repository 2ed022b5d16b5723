// monsys-agent: parses the command line and hands over. Nothing else lives here.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "agent/commands/check_config_command.hpp"
#include "agent/commands/once_command.hpp"
#include "agent/commands/status_command.hpp"
#include "agent/daemon/run_daemon.hpp"
#include "agent/inventory/inventory_command.hpp"
#include "agent/status/verdict.hpp"
#include "common/build_info.hpp"

int main(int argc, char** argv) {
    CLI::App cli{
        "monsys-agent: the monsys host agent.\n"
        "Without a subcommand it runs as the daemon: keeps the WebSocket to the hub, reports the\n"
        "tracked apps' state and the host inventory, and hands signed restarts to monsys-action."};
    cli.set_version_flag("--version", std::string("monsys-agent ") + monsys::build_info::version);
    const std::string config_help =
        std::string("Configuration file (default ") + monsys::build_info::default_config_path + ")";

    std::optional<std::string> config_path;
    bool once = false;
    cli.add_option("--config", config_path, config_help);
    cli.add_flag("--once", once,
                 "Collect the inventory, send it to the hub, wait for the ack (30 s) and exit; "
                 "exit 0 acked, 1 config, 2 hub unreachable, 3 token refused, 4 no ack");

    monsys::agent::InventoryCommandOptions inventory;
    auto* inventory_command =
        cli.add_subcommand("inventory", "Print this host's inventory as JSON (needs no hub)");
    inventory_command->add_option("--config", inventory.config_path,
                                  config_help + ", if it exists");
    inventory_command->add_option("--section", inventory.sections,
                                  "Comma-separated: systemd,docker,processes,packages,ports "
                                  "(default: all; host is always included)");
    inventory_command->add_flag("--pretty", inventory.pretty, "Indent the JSON");

    monsys::agent::commands::CheckConfigOptions check;
    auto* check_command =
        cli.add_subcommand("check-config",
                           "Check the configuration, the token file, the state directory and the "
                           "action command without connecting; exit 0 when the daemon can start");
    check_command->add_option("--config", check.config_path, config_help);

    monsys::agent::commands::StatusOptions status;
    auto* status_command = cli.add_subcommand(
        "status",
        "Show the running daemon's own view: hub connection, outbox, tracked apps, last actions, "
        "last inventory (from its status snapshot, never from the hub); exit 0 healthy, 1 not "
        "running, 2 usage or unreadable config or snapshot, 3 disconnected longer than "
        "--max-disconnected, 4 the snapshot is stale (the daemon looks hung)");
    status_command->add_option("--config", status.config_path, config_help);
    status_command->add_flag("--json", status.json,
                             "Print the snapshot and the verdict as JSON instead of a table");
    status_command
        ->add_option("--max-disconnected", status.max_disconnected_secs,
                     "Seconds without a hub connection before exit 3 (default 300, at most "
                     "2592000: 30 days)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{30 * 86400}));

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = cli.exit(error);
        // `status` documents 2 for a usage error (scripts tell it from its verdicts).
        return code != 0 && *status_command ? monsys::agent::status::exit_code::usage : code;
    }

    if (*inventory_command) {
        return monsys::agent::run_inventory_command(inventory, std::cout, std::cerr).exit_status;
    }
    if (*check_command) {
        if (!check.config_path) check.config_path = config_path;
        return monsys::agent::commands::run_check_config(check, std::cout, std::cerr);
    }
    if (*status_command) {
        if (!status.config_path) status.config_path = config_path;
        return monsys::agent::commands::run_status(status, std::cout, std::cerr);
    }
    if (once) {
        return monsys::agent::commands::run_once({config_path, 30}, std::cout, std::cerr);
    }
    return monsys::agent::daemon::run_daemon({config_path});
}
