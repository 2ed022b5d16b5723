#include "action-wrapper/action_result.hpp"

#include "common/util/time_format.hpp"

namespace monsys::action {

const char* to_string(ActionStatus status) {
    switch (status) {
        case ActionStatus::succeeded:
            return "succeeded";
        case ActionStatus::failed:
            return "failed";
        case ActionStatus::rejected:
            return "rejected";
        case ActionStatus::timeout:
            return "timeout";
    }
    return "failed";
}

nlohmann::json to_json(const ActionResult& result) {
    using nlohmann::json;
    auto optional_string = [](const std::optional<std::string>& value) {
        return value ? json(*value) : json(nullptr);
    };
    auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(result.finished_at -
                                                                          result.started_at);
    return json{
        {"jti", optional_string(result.jti)},
        {"app_id", result.app_id},
        {"type", result.type ? json(app::to_string(*result.type)) : json(nullptr)},
        {"identifier", result.type ? json(result.identifier) : json(nullptr)},
        {"status", to_string(result.status)},
        {"reason", optional_string(result.reason)},
        {"message", result.message},
        {"exit_code", result.exit_code ? json(*result.exit_code) : json(nullptr)},
        {"stdout", result.stdout_output.text},
        {"stderr", result.stderr_output.text},
        {"stdout_truncated", result.stdout_output.truncated},
        {"stderr_truncated", result.stderr_output.truncated},
        {"started_at", format_utc_millis(result.started_at)},
        {"finished_at", format_utc_millis(result.finished_at)},
        {"duration_ms", duration.count()},
        {"before", result.before},
        {"after", result.after},
        {"wrapper_exit_code", static_cast<int>(result.exit)},
    };
}

}  // namespace monsys::action
