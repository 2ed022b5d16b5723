#include "common/action/action_result.hpp"

#include "common/json/capped_json.hpp"
#include "common/util/time_format.hpp"

namespace monsys::results {
namespace {

using Json = nlohmann::json;

Json optional_string(const std::optional<std::string>& value) {
    return value ? Json(*value) : Json(nullptr);
}

Json duration_of(const ActionResult& result) {
    if (result.measured) return result.measured->count();
    if (!result.started_at || result.finished_at < *result.started_at) return nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(result.finished_at -
                                                                 *result.started_at)
        .count();
}

enum class Kind { string, nullable_string, integer, nullable_integer, boolean, object };

bool has_kind(const Json& value, Kind kind) {
    switch (kind) {
        case Kind::string:
            return value.is_string();
        case Kind::nullable_string:
            return value.is_null() || value.is_string();
        case Kind::integer:
            return value.is_number_integer();
        case Kind::nullable_integer:
            return value.is_null() || value.is_number_integer();
        case Kind::boolean:
            return value.is_boolean();
        case Kind::object:
            return value.is_object();
    }
    return false;
}

struct Field {
    const char* name;
    Kind kind;
};

constexpr Field result_fields[] = {
    {"jti", Kind::nullable_string},
    {"app_id", Kind::string},
    {"type", Kind::nullable_string},
    {"identifier", Kind::nullable_string},
    {"status", Kind::string},
    {"reason", Kind::nullable_string},
    {"message", Kind::string},
    {"exit_code", Kind::nullable_integer},
    {"stdout", Kind::string},
    {"stderr", Kind::string},
    {"stdout_truncated", Kind::boolean},
    {"stderr_truncated", Kind::boolean},
    {"started_at", Kind::nullable_string},
    {"finished_at", Kind::string},
    {"duration_ms", Kind::nullable_integer},
    {"before", Kind::object},
    {"after", Kind::object},
    {"wrapper_exit_code", Kind::nullable_integer},
};

}  // namespace

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

std::optional<ActionStatus> parse_action_status(std::string_view text) {
    for (ActionStatus status : {ActionStatus::succeeded, ActionStatus::failed,
                                ActionStatus::rejected, ActionStatus::timeout}) {
        if (text == to_string(status)) return status;
    }
    return std::nullopt;
}

Json to_json(const ActionResult& result) {
    return Json{
        {"jti", optional_string(result.jti)},
        {"app_id", result.app_id},
        {"type", result.type ? Json(app::to_string(*result.type)) : Json(nullptr)},
        {"identifier", result.type ? Json(result.identifier) : Json(nullptr)},
        {"status", to_string(result.status)},
        {"reason", optional_string(result.reason)},
        {"message", result.message},
        {"exit_code", result.exit_code ? Json(*result.exit_code) : Json(nullptr)},
        {"stdout", result.stdout_output.text},
        {"stderr", result.stderr_output.text},
        {"stdout_truncated", result.stdout_output.truncated},
        {"stderr_truncated", result.stderr_output.truncated},
        {"started_at",
         result.started_at ? Json(format_utc_millis(*result.started_at)) : Json(nullptr)},
        {"finished_at", format_utc_millis(result.finished_at)},
        {"duration_ms", duration_of(result)},
        {"before", result.before},
        {"after", result.after},
        {"wrapper_exit_code",
         result.wrapper_exit_code ? Json(*result.wrapper_exit_code) : Json(nullptr)},
    };
}

Expected<Json, std::string> check_result_json(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_result_bytes;
    limits.max_depth = 16;
    auto parsed = json::parse(text, limits);
    if (!parsed) return unexpected("not valid JSON: " + parsed.error().message);
    if (!parsed->is_object()) return unexpected(std::string("not a JSON object"));
    for (const Field& field : result_fields) {
        auto value = parsed->find(field.name);
        if (value == parsed->end()) return unexpected(std::string("no ") + field.name);
        if (!has_kind(*value, field.kind)) {
            return unexpected(std::string(field.name) + " has the wrong type");
        }
    }
    if (!parse_action_status(parsed->at("status").get_ref<const std::string&>())) {
        return unexpected(std::string("status is not one of succeeded, failed, rejected, timeout"));
    }
    const Json& type = parsed->at("type");
    if (type.is_string() && !app::parse_app_type(type.get_ref<const std::string&>())) {
        return unexpected(std::string("type is not an app type"));
    }
    return std::move(*parsed);
}

}  // namespace monsys::results
