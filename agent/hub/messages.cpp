#include "agent/hub/messages.hpp"

#include <limits>
#include <set>

#include "common/app/identifier.hpp"
#include "common/eat/claims.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::hub {
namespace {

using Json = nlohmann::json;

constexpr int max_hub_frame_depth = 32;
constexpr std::size_t max_app_name_bytes = 255;
constexpr std::size_t max_restart_command_bytes = 4096;
constexpr std::size_t max_type_bytes = 255;
constexpr std::size_t max_server_time_bytes = 64;
constexpr std::size_t max_error_code_bytes = 255;
constexpr std::size_t max_error_message_bytes = 4096;

const Json* member(const Json& object, const char* name) {
    auto it = object.find(name);
    return it == object.end() ? nullptr : &*it;
}

// A member that is absent or null.
bool is_absent(const Json* value) {
    return value == nullptr || value->is_null();
}

const std::string* string_value(const Json* value) {
    if (value == nullptr || !value->is_string()) return nullptr;
    return &value->get_ref<const std::string&>();
}

bool has_control_bytes(std::string_view text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

// A name shown in logs and sent back to the hub: non-empty, capped, no control characters.
bool is_printable_name(const std::string* text, std::size_t max_bytes) {
    return text != nullptr && !text->empty() && text->size() <= max_bytes &&
           !has_control_bytes(*text);
}

std::string dump(const Json& value) {
    // Strings from the configuration or the host need not be UTF-8; replace rather than throw.
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// An optional integer interval: absent or null is no value; anything but an integer that fits
// in int64 is an error. Ranges are the daemon's business (it clamps).
Expected<void, std::string> read_interval(const Json& message, const char* name,
                                          std::optional<std::int64_t>& out) {
    const Json* value = member(message, name);
    if (is_absent(value)) return ok();
    if (value->is_number_unsigned()) {
        auto number = value->get<std::uint64_t>();
        if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return unexpected(std::string(name) + " is out of range");
        }
        out = static_cast<std::int64_t>(number);
        return ok();
    }
    if (value->is_number_integer()) {
        out = value->get<std::int64_t>();
        return ok();
    }
    return unexpected(std::string(name) + " must be an integer");
}

struct AppList {
    std::vector<TrackedApp> apps;
    std::vector<std::string> dropped;
};

Expected<AppList, std::string> read_apps(const Json& message, std::string_view type) {
    const Json* apps = member(message, "apps");
    if (apps == nullptr) return unexpected(std::string(type) + ": apps is missing");
    if (!apps->is_array()) return unexpected(std::string(type) + ": apps must be an array");
    if (apps->size() > max_tracked_apps) {
        return unexpected(std::string(type) + ": " + std::to_string(apps->size()) +
                          " apps, more than the " + std::to_string(max_tracked_apps) +
                          " an agent tracks");
    }
    AppList list;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < apps->size(); ++i) {
        const std::string where = "apps[" + std::to_string(i) + "]";
        auto app = tracked_app_from_json((*apps)[i]);
        if (!app) {
            list.dropped.push_back(where + ": " + app.error());
            continue;
        }
        if (!ids.insert(app->id).second) {
            list.dropped.push_back(where + ": id \"" + app->id + "\" appears more than once");
            continue;
        }
        list.apps.push_back(std::move(*app));
    }
    return list;
}

Expected<HubMessage, std::string> decode_welcome(const Json& message) {
    Welcome welcome;
    const Json* server_time = member(message, "server_time");
    if (!is_absent(server_time)) {
        const std::string* text = string_value(server_time);
        if (text == nullptr || text->size() > max_server_time_bytes || has_control_bytes(*text)) {
            return unexpected("welcome: server_time must be a string of at most " +
                              std::to_string(max_server_time_bytes) + " bytes");
        }
        welcome.server_time = *text;
    }
    auto apps = read_apps(message, "welcome");
    if (!apps) return unexpected(std::move(apps.error()));
    welcome.apps = std::move(apps->apps);
    welcome.dropped_apps = std::move(apps->dropped);
    if (auto read =
            read_interval(message, "state_interval_secs", welcome.intervals.state_interval_secs);
        !read) {
        return unexpected("welcome: " + read.error());
    }
    if (auto read = read_interval(message, "inventory_interval_secs",
                                  welcome.intervals.inventory_interval_secs);
        !read) {
        return unexpected("welcome: " + read.error());
    }
    return HubMessage{std::move(welcome)};
}

Expected<HubMessage, std::string> decode_apps(const Json& message) {
    auto apps = read_apps(message, "apps");
    if (!apps) return unexpected(std::move(apps.error()));
    return HubMessage{AppsUpdate{std::move(apps->apps), std::move(apps->dropped)}};
}

Expected<HubMessage, std::string> decode_action(const Json& message) {
    const std::string* eat = string_value(member(message, "eat"));
    if (eat == nullptr || eat->empty()) {
        return unexpected(std::string("action: eat must be a non-empty string"));
    }
    if (eat->size() > eat::max_token_bytes) {
        return unexpected("action: eat is longer than " + std::to_string(eat::max_token_bytes) +
                          " bytes");
    }
    return HubMessage{ActionRequest{*eat}};
}

Expected<HubMessage, std::string> decode_ack(const Json& message) {
    const Json* seq = member(message, "seq");
    // Positive integers parse as unsigned; negative ones as signed, and integers beyond uint64
    // as floating point: both are refused here.
    if (seq == nullptr || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) {
        return unexpected(std::string("ack: seq must be a positive integer"));
    }
    return HubMessage{Ack{seq->get<std::uint64_t>()}};
}

Expected<HubMessage, std::string> decode_error(const Json& message) {
    const std::string* code = string_value(member(message, "code"));
    if (!is_printable_name(code, max_error_code_bytes)) {
        return unexpected("error: code must be a non-empty string of at most " +
                          std::to_string(max_error_code_bytes) + " bytes");
    }
    HubError error{*code, {}};
    const Json* text = member(message, "message");
    if (!is_absent(text)) {
        const std::string* message_text = string_value(text);
        if (message_text == nullptr || message_text->size() > max_error_message_bytes) {
            return unexpected("error: message must be a string of at most " +
                              std::to_string(max_error_message_bytes) + " bytes");
        }
        error.message = *message_text;
    }
    return HubMessage{std::move(error)};
}

}  // namespace

Expected<HubMessage, std::string> decode_hub_message(std::string_view frame) {
    json::Limits limits;
    limits.max_bytes = max_hub_frame_bytes;
    limits.max_depth = max_hub_frame_depth;
    limits.reject_duplicate_keys = true;
    auto parsed = json::parse(frame, limits);
    if (!parsed) return unexpected("invalid JSON: " + parsed.error().message);
    const Json& message = *parsed;
    if (!message.is_object()) return unexpected(std::string("frame is not a JSON object"));
    const Json* type_value = member(message, "type");
    if (type_value == nullptr) return unexpected(std::string("frame has no type"));
    const std::string* type = string_value(type_value);
    if (type == nullptr) return unexpected(std::string("type must be a string"));

    if (*type == "welcome") return decode_welcome(message);
    if (*type == "apps") return decode_apps(message);
    if (*type == "action") return decode_action(message);
    if (*type == "collect") return HubMessage{CollectRequest{}};
    if (*type == "ack") return decode_ack(message);
    if (*type == "error") return decode_error(message);
    // Unknown types are logged once each: a bounded, printable name keeps that set and the log
    // sane whatever the hub sends.
    if (!is_printable_name(type, max_type_bytes)) {
        return unexpected("type must be a non-empty string of at most " +
                          std::to_string(max_type_bytes) + " bytes without control characters");
    }
    return HubMessage{UnknownMessage{*type}};
}

Json to_json(const TrackedApp& app) {
    Json entry = {
        {"id", app.id},
        {"name", app.name},
        {"app_type", app::to_string(app.type)},
        {"identifier", app.identifier},
        {"expected_state", app.expected_state},
    };
    if (app.restart_command) entry["restart_command"] = *app.restart_command;
    return entry;
}

Expected<TrackedApp, std::string> tracked_app_from_json(const Json& entry) {
    if (!entry.is_object()) return unexpected(std::string("not an object"));
    TrackedApp app;

    const std::string* id = string_value(member(entry, "id"));
    if (id == nullptr || !app::is_valid_app_id(*id)) {
        return unexpected("id must be a string of " + std::string(app::app_id_rule));
    }
    app.id = *id;
    const std::string where = "app \"" + app.id + "\": ";

    const std::string* name = string_value(member(entry, "name"));
    if (!is_printable_name(name, max_app_name_bytes)) {
        return unexpected(where + "name must be a non-empty string of at most " +
                          std::to_string(max_app_name_bytes) + " bytes without control characters");
    }
    app.name = *name;

    const std::string* type_name = string_value(member(entry, "app_type"));
    std::optional<app::AppType> type;
    if (type_name != nullptr) type = app::parse_app_type(*type_name);
    if (!type) {
        return unexpected(where + "app_type must be systemd, docker, compose or process");
    }
    app.type = *type;

    const std::string* identifier = string_value(member(entry, "identifier"));
    if (identifier == nullptr) return unexpected(where + "identifier must be a string");
    if (auto valid = app::check_identifier(app.type, *identifier); !valid) {
        return unexpected(where + "identifier: " + valid.error());
    }
    app.identifier = *identifier;

    const std::string* expected = string_value(member(entry, "expected_state"));
    if (expected == nullptr || (*expected != "running" && *expected != "stopped")) {
        return unexpected(where + "expected_state must be \"running\" or \"stopped\"");
    }
    app.expected_state = *expected;

    const Json* command = member(entry, "restart_command");
    if (!is_absent(command)) {
        // As in a token (common/eat): only a process app has one, and a hub that sends one for
        // another type expects something that would never happen.
        if (app.type != app::AppType::process) {
            return unexpected(where + "restart_command is only allowed for process apps");
        }
        const std::string* path = string_value(command);
        if (path == nullptr || path->size() > max_restart_command_bytes ||
            !app::is_absolute_normalized_path(*path)) {
            return unexpected(where +
                              "restart_command must be an absolute, normalized path of at most " +
                              std::to_string(max_restart_command_bytes) + " bytes");
        }
        app.restart_command = *path;
    }
    return app;
}

std::string encode_hello(const HelloFields& hello) {
    Json message = {
        {"type", "hello"},
        {"agent_id", hello.agent_id},
        {"version", hello.version},
        {"hostname", hello.hostname},
        {"boot_id", hello.boot_id},
        {"tags", hello.tags},
        {"capabilities", {"inventory.extended", "state", "restart-app"}},
        {"last_acked_seq", hello.last_acked_seq},
        {"action_key", hello.action_key ? *hello.action_key : Json(nullptr)},
        {"dropped",
         {{"results_evicted", hello.dropped.results_evicted},
          {"refusals_evicted", hello.dropped.refusals_evicted},
          {"refusals_suppressed", hello.dropped.refusals_suppressed},
          {"action_frames_dropped", hello.dropped.action_frames_dropped}}},
    };
    return dump(message);
}

Json make_inventory_message(const Json& inventory,
                            std::chrono::system_clock::time_point collected_at) {
    return Json{
        {"type", "inventory"},
        {"kind", "extended"},
        {"collected_at", format_utc_millis(collected_at)},
        {"inventory", inventory},
    };
}

Json make_state_message(const std::vector<AppStateReport>& apps,
                        std::chrono::system_clock::time_point observed_at) {
    Json entries = Json::array();
    for (const AppStateReport& app : apps) {
        entries.push_back(Json{
            {"id", app.id},
            {"observed", inventory::to_string(app.observed)},
            {"detail", app.detail},
            {"changed_at", format_utc_millis(app.changed_at)},
        });
    }
    return Json{
        {"type", "state"},
        {"observed_at", format_utc_millis(observed_at)},
        {"apps", std::move(entries)},
    };
}

Json make_action_result_message(std::string_view jti, std::string_view reported_by, Json result,
                                std::optional<std::string> result_jws) {
    Json message{
        {"type", "action_result"},
        {"jti", std::string(jti)},
        {"reported_by", std::string(reported_by)},
        {"result", std::move(result)},
    };
    if (result_jws) message["result_jws"] = std::move(*result_jws);
    return message;
}

}  // namespace monsys::agent::hub
