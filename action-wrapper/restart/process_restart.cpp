#include "action-wrapper/restart/process_restart.hpp"

#include <string.h>

namespace monsys::action {

std::vector<std::string> restart_command_environment() {
    return {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
}

RestartOutcome outcome_from_child(const io::process::ChildResult& result,
                                  const ProcessLimits& limits) {
    RestartOutcome outcome;
    outcome.stdout_output = {result.out.text, result.out.truncated};
    outcome.stderr_output = {result.err.text, result.err.truncated};
    outcome.exit_code = result.exit_code;
    outcome.signal = result.signal;
    switch (result.ending) {
        case io::process::ChildEnding::exited:
            outcome.status =
                result.exit_code == 0 ? RestartStatus::succeeded : RestartStatus::failed;
            break;
        case io::process::ChildEnding::signaled:
            outcome.status = RestartStatus::failed;
            break;
        case io::process::ChildEnding::timed_out:
            outcome.status = RestartStatus::timeout;
            break;
    }
    outcome.after = {{"exit_code", result.exit_code},
                     {"elapsed_ms", result.elapsed.count()},
                     {"stdout_bytes", result.out.total_bytes},
                     {"stderr_bytes", result.err.total_bytes}};
    if (result.signal != 0) {
        const char* name = sigabbrev_np(result.signal);
        outcome.after["signal"] = result.signal;
        outcome.after["signal_name"] = name != nullptr ? std::string("SIG") + name : "unknown";
    }
    if (result.ending == io::process::ChildEnding::timed_out) {
        outcome.after["timeout_ms"] = limits.timeout.count();
    }
    return outcome;
}

RestartOutcome run_restart_command(const std::string& absolute_path, const ProcessLimits& limits) {
    io::process::ChildSpec spec;
    spec.path = absolute_path;
    spec.argv = {absolute_path};
    spec.env = restart_command_environment();  // cwd stays "/", ChildSpec's default
    io::process::ChildLimits child_limits;
    child_limits.timeout = limits.timeout;
    child_limits.kill_grace = limits.kill_grace;
    child_limits.output_cap_bytes = limits.output_cap_bytes;

    auto result = io::process::run_child(spec, child_limits);
    if (!result) {
        RestartOutcome outcome;
        outcome.status = RestartStatus::failed;
        outcome.exit_code = -1;
        outcome.stderr_output.text = std::move(result.error());
        return outcome;
    }
    return outcome_from_child(*result, limits);
}

}  // namespace monsys::action
