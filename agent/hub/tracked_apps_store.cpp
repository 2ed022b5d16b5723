#include "agent/hub/tracked_apps_store.hpp"

#include <optional>

#include "common/inventory/observed_state.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::hub {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// 1000 apps of a few hundred bytes each, with their states, stay far below this.
constexpr std::size_t max_file_bytes = 16u << 20;

std::optional<inventory::AppState> parse_app_state(std::string_view text) {
    for (auto state : {inventory::AppState::running, inventory::AppState::stopped,
                       inventory::AppState::unknown}) {
        if (text == inventory::to_string(state)) return state;
    }
    return std::nullopt;
}

const std::string* string_member(const Json& object, const char* name) {
    auto it = object.find(name);
    if (it == object.end() || !it->is_string()) return nullptr;
    return &it->get_ref<const std::string&>();
}

Expected<RememberedState, std::string> state_from_json(const Json& entry) {
    if (!entry.is_object()) return unexpected(std::string("not an object"));
    RememberedState state;
    const std::string* observed = string_member(entry, "observed");
    std::optional<inventory::AppState> parsed;
    if (observed != nullptr) parsed = parse_app_state(*observed);
    if (!parsed) return unexpected(std::string("observed must be running, stopped or unknown"));
    state.observed = *parsed;
    const std::string* detail = string_member(entry, "detail");
    if (detail == nullptr) {
        return unexpected(std::string("detail must be a string"));
    }
    state.detail = *detail;
    const std::string* changed_at = string_member(entry, "changed_at");
    std::optional<std::chrono::system_clock::time_point> time;
    if (changed_at != nullptr) time = parse_utc_millis(*changed_at);
    if (!time) return unexpected(std::string("changed_at must be a UTC time with milliseconds"));
    state.changed_at = *time;
    return state;
}

}  // namespace

Expected<TrackedAppsFile, std::string> load_tracked_apps(const std::filesystem::path& file) {
    auto text = read_regular_file(file, max_file_bytes);
    if (!text) return unexpected(std::move(text.error()));
    if (!text->has_value()) return TrackedAppsFile{};

    auto corrupt = [&file](const std::string& why) {
        return unexpected(file.string() + " is corrupt (" + why + ")");
    };
    json::Limits limits;
    limits.max_bytes = max_file_bytes;
    auto parsed = json::parse(**text, limits);
    if (!parsed) return corrupt(parsed.error().message);
    const Json& document = *parsed;
    if (!document.is_object()) return corrupt("not a JSON object");

    TrackedAppsFile contents;
    auto apps = document.find("apps");
    if (apps == document.end() || !apps->is_array()) return corrupt("apps must be an array");
    if (apps->size() > max_tracked_apps) return corrupt("more apps than an agent tracks");
    for (std::size_t i = 0; i < apps->size(); ++i) {
        auto app = tracked_app_from_json((*apps)[i]);
        if (!app) return corrupt("apps[" + std::to_string(i) + "]: " + app.error());
        contents.apps.push_back(std::move(*app));
    }

    auto states = document.find("states");
    if (states != document.end()) {
        if (!states->is_object()) return corrupt("states must be an object");
        for (const auto& [id, entry] : states->items()) {
            auto state = state_from_json(entry);
            if (!state) return corrupt("states[\"" + id + "\"]: " + state.error());
            contents.states.emplace(id, std::move(*state));
        }
    }
    return contents;
}

Expected<void, std::string> save_tracked_apps(const std::filesystem::path& file,
                                              const TrackedAppsFile& contents) {
    Json apps = Json::array();
    for (const TrackedApp& app : contents.apps) apps.push_back(to_json(app));
    Json states = Json::object();
    for (const auto& [id, state] : contents.states) {
        states[id] = Json{
            {"observed", inventory::to_string(state.observed)},
            {"detail", state.detail},
            {"changed_at", format_utc_millis(state.changed_at)},
        };
    }
    const Json document = {{"apps", std::move(apps)}, {"states", std::move(states)}};
    const std::string text = document.dump(-1, ' ', false, Json::error_handler_t::replace);

    fs::path directory = file.parent_path();
    if (!directory.empty()) {
        if (auto made = ensure_directory(directory); !made) return made;
    }
    return write_file_atomically(file, text);
}

}  // namespace monsys::agent::hub
