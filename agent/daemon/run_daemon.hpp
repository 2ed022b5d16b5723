#pragma once
// `monsys-agent` (no subcommand): the long-running daemon as a process. Loads the configuration,
// opens the state directory, builds the real I/O (daemon_io.hpp) and runs the Daemon
// (daemon.hpp) on one io_context until SIGTERM/SIGINT or until a loop it depends on dies.
#include <optional>
#include <string>

namespace monsys::agent::daemon {

struct DaemonOptions {
    std::optional<std::string> config_path;
};

// Returns the process exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when the
// configuration or the state directory is unusable (one line on stderr says why) or when a loop
// the daemon depends on died (systemd then starts it again).
int run_daemon(const DaemonOptions& options);

}  // namespace monsys::agent::daemon
