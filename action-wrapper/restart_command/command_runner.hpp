#pragma once
// Runs a restart command from its opened, checked file (never its path again): argv = {path}, no
// shell, no PATH lookup, the minimal environment, cwd "/", stdin /dev/null, its own process group,
// stdout and stderr captured up to a cap. A daemon the command starts in the background keeps
// running; the capture stops waiting for pipes it inherited shortly after the command exits.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "action-wrapper/restart_command/command_result.hpp"
#include "common/io/process/child_process.hpp"

namespace monsys::action {

struct CommandLimits {
    // The maximum of restart_timeout_secs: the wrapper gives up on its own, shorter deadline.
    std::chrono::milliseconds timeout{3600 * 1000};
    std::size_t output_cap_bytes = 64 * 1024;
    // After SIGTERM to the command's process group on timeout, before SIGKILL.
    std::chrono::milliseconds kill_grace{5000};
};

// The command's whole environment: a fixed minimal PATH and LANG=C, nothing inherited, so
// neither the caller's environment nor the token can steer what the command loads.
std::vector<std::string> restart_command_environment();

// Runs the program open at `exec_fd` (a script's interpreter sees it as /proc/self/fd/3; `path`
// is argv[0] and names it in messages). Fills how it ended and its output into `result`; a
// command that could not be started is not_run with the reason.
void run_command_fd(int exec_fd, const std::string& path, const CommandLimits& limits,
                    CommandResult& result);

// Pure mapping of how the child ended into the result.
void record_child_result(const io::process::ChildResult& child, CommandResult& result);

}  // namespace monsys::action
