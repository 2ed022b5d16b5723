#pragma once
// Restart of a process app (docs/security.md, "Process apps"). The wrapper runs nothing itself:
// it restarts the root-owned unit monsys-restart@ENTRY.service over the bus (the same
// RestartUnit + JobRemoved path as systemd apps), whose `monsys-action run-restart-command ENTRY`
// runs the policy entry's command as the entry's user and leaves a result file. The wrapper reads
// that file and, after a settle time, looks at the app's path: the restart succeeded only when
// the command exited 0 AND the path runs again under a pid that did not run it before.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "action-wrapper/restart_command/command_result.hpp"
#include "common/inventory/process_scan.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/util/expected.hpp"

namespace monsys::action {

struct ProcessRestartRequest {
    std::string entry;     // the policy's restart_commands entry for this app
    std::string app_path;  // the app's identifier: the path it runs
    std::string command;   // the restart command (the entry's and the token's)
    std::filesystem::path result_dir;
    std::chrono::milliseconds timeout{120000};  // for the unit's restart job
    std::chrono::milliseconds settle{2000};     // after the job, before looking at the app
    // Of each output in the result file (which keeps at most 64 KiB), how much is passed on.
    std::size_t output_cap_bytes = 64 * 1024;
};

// Which processes run a path now (common/inventory/process_scan on the host by default).
using PathRunsReader = std::function<inventory::PathRuns(const std::string& path)>;
PathRunsReader host_path_runs();

// "monsys-restart@<entry>.service"
std::string restart_unit_name(std::string_view entry);

RestartOutcome restart_process_app(const io::SystemdBusSettings& bus,
                                   const ProcessRestartRequest& request,
                                   const PathRunsReader& path_runs = host_path_runs());

// Pure decisions, unit-tested with made-up inputs.

struct ProcessVerdict {
    RestartStatus status = RestartStatus::failed;
    std::string message;  // one line for the operator
};

// The success rule. `result` is what run-restart-command wrote; `job_done` whether the unit's
// restart job ended "done"; `before`/`after` which processes ran the app's path before the
// restart and `settle` after the job (after: none when the command did not exit 0).
ProcessVerdict judge_process_restart(const CommandResult& result, bool job_done,
                                     const inventory::PathRuns& before,
                                     const std::optional<inventory::PathRuns>& after,
                                     std::string_view app_path, std::chrono::milliseconds settle);

// Success when a result file read after a restart issued at `issued_at_ms` (unix ms) is this
// restart's result, else why it is not (another entry's, or an earlier run's).
Expected<void, std::string> check_result_is_current(const CommandResult& result,
                                                    std::string_view entry,
                                                    std::int64_t issued_at_ms);

// "2 s" for whole seconds, "1500 ms" otherwise.
std::string describe_duration(std::chrono::milliseconds duration);

}  // namespace monsys::action
