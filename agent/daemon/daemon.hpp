#pragma once
// `monsys-agent` (no subcommand): the long-running daemon. Keeps the hub link, reports the
// tracked apps' state and the extended inventory, hands actions to monsys-action, and speaks
// sd_notify (READY, WATCHDOG, STOPPING). docs/protocol.md describes what goes over the wire.
#include <optional>
#include <string>

namespace monsys::agent::daemon {

struct DaemonOptions {
    std::optional<std::string> config_path;
};

// Returns the process exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when the
// configuration or the state directory is unusable (one line on stderr says why).
int run_daemon(const DaemonOptions& options);

}  // namespace monsys::agent::daemon
