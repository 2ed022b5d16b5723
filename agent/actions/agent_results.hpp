#pragma once
// Result objects the agent builds itself, of the one result type monsys-action prints
// (common/action/action_result.hpp, docs/monsys-action.md), for actions that never reached the
// wrapper or whose wrapper output is unusable. docs/protocol.md says when each is sent.
#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/app/app.hpp"

namespace monsys::agent::actions {

struct AgentResultFields {
    std::optional<std::string> jti;  // only from a token whose signature verified
    std::string app_id;
    std::optional<app::AppRef> app;  // from a verified token
    std::string status;              // "rejected" or "failed"
    std::string reason;              // a name: a refusal of docs/eat.md, "wrapper_failed", ...
    std::string message;             // one line for a human
    std::string stderr_text;         // e.g. what the wrapper wrote to stderr
    std::string started_at;          // UTC millis (format_utc_millis)
    std::string finished_at;
    // Measured on a steady clock (spawn to end of monsys-action); else finished - started.
    std::optional<std::chrono::milliseconds> measured;
    std::optional<int> wrapper_exit_code;
};

nlohmann::json agent_result(const AgentResultFields& fields);

// A result for an action that never ran: status "rejected", started and finished at `now_utc`.
AgentResultFields refusal_fields(std::optional<std::string> jti, std::optional<app::AppRef> app,
                                 std::string reason, std::string message, std::string now_utc);

}  // namespace monsys::agent::actions
