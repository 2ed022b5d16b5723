#pragma once
// Restart of a process app by its restart command: the absolute path is executed directly
// (argv = {path}, no shell, no PATH lookup) in a clean environment; see common/io/process.
#include <chrono>
#include <cstddef>
#include <string>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/io/process/child_process.hpp"

namespace monsys::action {

struct ProcessLimits {
    std::chrono::milliseconds timeout{120000};
    std::size_t output_cap_bytes = 64 * 1024;
    // After SIGTERM to the command's process group on timeout, before SIGKILL.
    std::chrono::milliseconds kill_grace{5000};
};

RestartOutcome run_restart_command(const std::string& absolute_path, const ProcessLimits& limits);

// The command's whole environment: a fixed minimal PATH and LANG=C, nothing inherited, so
// neither the agent's environment nor the token can steer what the command loads.
std::vector<std::string> restart_command_environment();

// Pure mapping of how the command ended to the outcome.
RestartOutcome outcome_from_child(const io::process::ChildResult& result,
                                  const ProcessLimits& limits);

}  // namespace monsys::action
