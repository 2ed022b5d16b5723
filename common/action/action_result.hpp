#pragma once
// The one result of an action, as the hub's audit log files it (docs/monsys-action.md, "Output"):
// printed by monsys-action, built by the agent when it refused a token itself or could not run
// monsys-action, and by the agent's recovery for an action a stop interrupted. One type, one
// serializer, so the three cannot drift apart again.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/app/app.hpp"
#include "common/util/expected.hpp"

namespace monsys::results {

enum class ActionStatus { succeeded, failed, rejected, timeout };
const char* to_string(ActionStatus status);
std::optional<ActionStatus> parse_action_status(std::string_view text);

struct CapturedOutput {
    std::string text;
    bool truncated = false;
};

struct ActionResult {
    std::optional<std::string> jti;  // only once the token's signature has been verified
    std::string app_id;
    std::optional<app::AppType> type;  // from the verified token; identifier is null without it
    std::string identifier;
    ActionStatus status = ActionStatus::failed;
    std::optional<std::string> reason;  // a named refusal, e.g. "bad_signature"
    std::string message;                // one line for a human
    std::optional<int> exit_code;       // what the restart method reported; none if not run
    CapturedOutput stdout_output;
    CapturedOutput stderr_output;
    // Unknown only in a recovery whose record's start time cannot be read.
    std::optional<std::chrono::system_clock::time_point> started_at;
    std::chrono::system_clock::time_point finished_at;
    // How long it took on a steady clock, when whoever built the result measured it (the agent:
    // from spawning monsys-action to its end); otherwise finished_at - started_at. duration_ms is
    // null only when neither is known (no start time, or a wall clock that went backwards).
    std::optional<std::chrono::milliseconds> measured;
    nlohmann::json before = nlohmann::json::object();
    nlohmann::json after = nlohmann::json::object();
    std::optional<int> wrapper_exit_code;  // monsys-action's exit code, when it is known
};

nlohmann::json to_json(const ActionResult& result);

// The largest result monsys-action can print: its outputs are capped at 16 MiB each per stream,
// JSON-escaped, so 40 MiB bounds it.
inline constexpr std::size_t max_result_bytes = 40u << 20;

// Checks that `text` (what monsys-action printed) is a result as to_json writes it: a JSON object
// with every field of the type, each of its type, a known status. Fields it does not know are
// allowed (a newer wrapper may add some). Returns the parsed object; the error names the field.
Expected<nlohmann::json, std::string> check_result_json(std::string_view text);

}  // namespace monsys::results
