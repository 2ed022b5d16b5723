#pragma once
// The one JSON object monsys-action prints: the evidence the hub files into its audit log.
#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/app/app.hpp"

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

enum class ActionStatus { succeeded, failed, rejected, timeout };
const char* to_string(ActionStatus status);

struct ActionResult {
    std::optional<std::string> jti;  // only once the token's signature has been verified
    std::string app_id;
    std::optional<app::AppType> type;  // from the verified token
    std::string identifier;
    ActionStatus status = ActionStatus::failed;
    std::optional<std::string> reason;  // a named refusal, e.g. "bad_signature"
    std::string message;                // one line for a human
    std::optional<int> exit_code;       // what the restart method reported; none if not run
    CapturedOutput stdout_output;
    CapturedOutput stderr_output;
    std::chrono::system_clock::time_point started_at;
    std::chrono::system_clock::time_point finished_at;
    nlohmann::json before = nlohmann::json::object();
    nlohmann::json after = nlohmann::json::object();
    ExitCode exit = ExitCode::failed;
};

nlohmann::json to_json(const ActionResult& result);

}  // namespace monsys::action
