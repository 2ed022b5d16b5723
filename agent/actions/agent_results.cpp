#include "agent/actions/agent_results.hpp"

#include "common/action/action_result.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::actions {

nlohmann::json agent_result(const AgentResultFields& fields) {
    results::ActionResult result;
    result.jti = fields.jti;
    result.app_id = fields.app ? fields.app->id : fields.app_id;
    if (fields.app) {
        result.type = fields.app->type;
        result.identifier = fields.app->identifier;
    }
    result.status =
        results::parse_action_status(fields.status).value_or(results::ActionStatus::failed);
    result.reason = fields.reason;
    result.message = fields.message;
    result.stderr_output.text = fields.stderr_text;
    // The agent wrote both times itself (format_utc_millis); an unreadable one is a bug, and
    // "now" is the least wrong stand-in.
    const auto now = std::chrono::system_clock::now();
    result.finished_at = parse_utc_millis(fields.finished_at).value_or(now);
    result.started_at = parse_utc_millis(fields.started_at).value_or(result.finished_at);
    result.measured = fields.measured;
    result.wrapper_exit_code = fields.wrapper_exit_code;
    return results::to_json(result);
}

AgentResultFields refusal_fields(std::optional<std::string> jti, std::optional<app::AppRef> app,
                                 std::string reason, std::string message, std::string now_utc) {
    AgentResultFields fields;
    fields.jti = std::move(jti);
    fields.app = std::move(app);
    fields.status = "rejected";
    fields.reason = std::move(reason);
    fields.message = std::move(message);
    fields.started_at = now_utc;
    fields.finished_at = std::move(now_utc);
    return fields;
}

}  // namespace monsys::agent::actions
