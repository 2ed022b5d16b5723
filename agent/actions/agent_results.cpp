#include "agent/actions/agent_results.hpp"

namespace monsys::agent::actions {

nlohmann::json agent_result(const AgentResultFields& fields) {
    using nlohmann::json;
    json result = json::object();
    result["jti"] = fields.jti ? json(*fields.jti) : json(nullptr);
    result["app_id"] = fields.app ? fields.app->id : fields.app_id;
    result["type"] = fields.app ? json(app::to_string(fields.app->type)) : json(nullptr);
    result["identifier"] = fields.app ? json(fields.app->identifier) : json(nullptr);
    result["status"] = fields.status;
    result["reason"] = fields.reason;
    result["message"] = fields.message;
    result["exit_code"] = nullptr;
    result["stdout"] = "";
    result["stderr"] = fields.stderr_text;
    result["stdout_truncated"] = false;
    result["stderr_truncated"] = false;
    result["started_at"] = fields.started_at;
    result["finished_at"] = fields.finished_at;
    result["duration_ms"] = 0;
    result["before"] = json::object();
    result["after"] = json::object();
    result["wrapper_exit_code"] =
        fields.wrapper_exit_code ? json(*fields.wrapper_exit_code) : json(nullptr);
    return result;
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
