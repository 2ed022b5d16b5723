#pragma once
// What one restart method reports back: the evidence that lands in the hub's audit log.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/action/action_result.hpp"

namespace monsys::action {

enum class RestartStatus { succeeded, failed, timeout };

const char* to_string(RestartStatus status);

// A method's captured output is the action result's (common/action/action_result.hpp).
using results::CapturedOutput;

struct RestartOutcome {
    RestartStatus status = RestartStatus::failed;
    // The restart command's exit code for process apps; 0 (done) or 1 (failed) for the others;
    // -1 when the command was killed or never ran.
    int exit_code = 1;
    // The signal that ended the restart command (process apps), 0 if none.
    int signal = 0;
    // For systemd, docker and compose: a one-line human summary such as
    // "nginx.service restarted: MainPID 1234 -> 5678". For process: the command's output.
    CapturedOutput stdout_output;
    // For systemd, docker and compose: why it failed, one line (empty on success). For process:
    // the command's error output, or why it could not be started.
    CapturedOutput stderr_output;
    nlohmann::json before = nlohmann::json::object();
    nlohmann::json after = nlohmann::json::object();
    // One line for the operator when the method words its verdict itself (process apps: the
    // success rule's reason); empty: the wrapper takes it from the outputs.
    std::string message;
    // Set when the method refused the app by the host's rules before restarting anything (e.g.
    // a unit that systemd resolves to a denied one): the wrapper reports policy_denied.
    std::optional<std::string> policy_refusal;
};

}  // namespace monsys::action
