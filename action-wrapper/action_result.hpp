#pragma once
// The one JSON object monsys-action prints: the evidence the hub files into its audit log. The
// result itself is the type the agent uses too (common/action/action_result.hpp); the wrapper
// adds the exit code it ends with, printed as wrapper_exit_code.
#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/action/action_result.hpp"

namespace monsys::action {

// Process exit codes, documented in docs/monsys-action.md.
enum class ExitCode : int {
    succeeded = 0,
    failed = 1,         // the restart was attempted and did not succeed
    usage = 2,          // bad arguments or configuration; nothing was attempted
    rejected = 3,       // the token was refused; nothing was attempted
    policy_denied = 4,  // the local policy refused; nothing was attempted
    timeout = 5,        // the restart did not finish in time
    // The wrapper's own bookkeeping failed (replay store I/O, lock, trust or capacity): nothing
    // was attempted, and the token was not found bad.
    internal_error = 6,
};

using results::ActionStatus;
using results::to_string;

struct ActionResult : results::ActionResult {
    ExitCode exit = ExitCode::failed;
};

// results::to_json, with wrapper_exit_code = exit.
nlohmann::json to_json(const ActionResult& result);

}  // namespace monsys::action
