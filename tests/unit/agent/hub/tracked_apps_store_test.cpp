#include <doctest/doctest.h>

#include "../temp_dir.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "common/util/time_format.hpp"

using namespace monsys::agent::hub;
using namespace monsys::agent::test;
using monsys::app::AppType;
using monsys::inventory::AppState;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::chrono::system_clock::time_point utc(const char* text) {
    auto time = monsys::parse_utc_millis(text);
    REQUIRE(time);
    return *time;
}

TrackedAppsFile sample() {
    TrackedAppsFile contents;
    contents.apps = {
        {"app-7", "web", AppType::systemd, "nginx.service", "running", std::nullopt},
        {"app-9", "worker", AppType::process, "/opt/worker/run.sh", "stopped",
         "/opt/worker/restart.sh"},
        {"app-3", "shop", AppType::compose, "shop::web", "running", std::nullopt},
    };
    contents.states["app-7"] = {AppState::running, "active (running)",
                                utc("2026-11-28T08:02:11.530Z")};
    contents.states["app-9"] = {AppState::stopped, "exited (code 137)",
                                utc("2026-11-28T09:15:03.004Z")};
    contents.states["app-3"] = {AppState::unknown, "", utc("1970-01-01T00:00:00.000Z")};
    return contents;
}

std::string load_error(const fs::path& file, std::string_view contents) {
    write_all(file, contents);
    auto loaded = load_tracked_apps(file);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().find('\n') == std::string::npos);
    return loaded.error();
}

}  // namespace

TEST_CASE("tracked apps store: round trip") {
    TempDir dir;
    const fs::path file = dir.path() / "hub" / "tracked-apps.json";
    const TrackedAppsFile saved = sample();
    auto result = save_tracked_apps(file, saved);
    if (!result) FAIL_CHECK(result.error());
    REQUIRE(result);
    CHECK(mode_of(file) == 0600);
    CHECK(mode_of(file.parent_path()) == 0700);
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));

    auto loaded = load_tracked_apps(file);
    REQUIRE(loaded);
    REQUIRE(loaded->apps.size() == saved.apps.size());
    for (std::size_t i = 0; i < saved.apps.size(); ++i) {
        CHECK(to_json(loaded->apps[i]) == to_json(saved.apps[i]));  // order kept
    }
    REQUIRE(loaded->states.size() == saved.states.size());
    for (const auto& [id, state] : saved.states) {
        CAPTURE(id);
        const RememberedState& again = loaded->states.at(id);
        CHECK(again.observed == state.observed);
        CHECK(again.detail == state.detail);
        CHECK(again.changed_at == state.changed_at);
    }

    // The documented shape.
    Json document = Json::parse(read_all(file));
    CHECK(document.at("apps").at(1) == to_json(saved.apps[1]));
    CHECK(document.at("states").at("app-7") == Json{{"observed", "running"},
                                                    {"detail", "active (running)"},
                                                    {"changed_at", "2026-11-28T08:02:11.530Z"}});
}

TEST_CASE("tracked apps store: saving replaces the file, an empty list round-trips") {
    TempDir dir;
    const fs::path file = dir.path() / "tracked-apps.json";
    REQUIRE(save_tracked_apps(file, sample()));
    REQUIRE(save_tracked_apps(file, TrackedAppsFile{}));
    auto loaded = load_tracked_apps(file);
    REQUIRE(loaded);
    CHECK(loaded->apps.empty());
    CHECK(loaded->states.empty());
    CHECK(Json::parse(read_all(file)) == Json{{"apps", Json::array()}, {"states", Json::object()}});
}

TEST_CASE("tracked apps store: a missing file is an empty list") {
    TempDir dir;
    auto loaded = load_tracked_apps(dir.path() / "tracked-apps.json");
    REQUIRE(loaded);
    CHECK(loaded->apps.empty());
    CHECK(loaded->states.empty());
    // Also without states, which an older file may lack.
    write_all(dir.path() / "old.json", "{\"apps\":[]}");
    CHECK(load_tracked_apps(dir.path() / "old.json"));
}

TEST_CASE("tracked apps store: a corrupt file is an error naming it") {
    TempDir dir;
    const fs::path file = dir.path() / "tracked-apps.json";
    const std::string prefix = file.string() + " is corrupt (";
    const Json good_app = to_json(sample().apps[0]);
    const Json good_state = {
        {"observed", "running"}, {"detail", "x"}, {"changed_at", "2026-11-28T08:02:11.530Z"}};
    auto with_state = [&good_app](const Json& state) {
        return Json{{"apps", Json::array({good_app})}, {"states", {{"app-7", state}}}}.dump();
    };
    auto state_with = [&good_state](const char* key, Json value) {
        Json state = good_state;
        state[key] = std::move(value);
        return state;
    };

    const std::string bad[] = {
        "",
        "{\"apps\":[",
        "[]",
        "{}",
        "{\"apps\":{}}",
        "{\"apps\":[],\"apps\":[]}",
        "{\"apps\":[],\"states\":[]}",
        Json{{"apps", Json::array({Json{{"id", "x"}}})}}.dump(),
        with_state(Json("running")),
        with_state(state_with("observed", "paused")),
        with_state(state_with("observed", 1)),
        with_state(state_with("detail", nullptr)),
        with_state(state_with("changed_at", "2026-11-28T08:02:11Z")),
        with_state(state_with("changed_at", "yesterday")),
        std::string("{\"apps\":[\"\xff\"]}"),
    };
    for (const std::string& contents : bad) {
        CAPTURE(contents);
        CHECK(load_error(file, contents).rfind(prefix, 0) == 0);
    }
    CHECK(
        load_error(file, with_state(state_with("observed", "paused"))).find("states[\"app-7\"]") !=
        std::string::npos);
    CHECK(load_error(file, Json{{"apps", Json::array({good_app, Json::object()})}}.dump())
              .find("apps[1]") != std::string::npos);

    Json too_many = Json::array();
    for (std::size_t i = 0; i <= max_tracked_apps; ++i) {
        Json app = good_app;
        app["id"] = "app-" + std::to_string(i);
        too_many.push_back(app);
    }
    CHECK(load_error(file, Json{{"apps", too_many}}.dump()).rfind(prefix, 0) == 0);

    // Not a regular file.
    fs::remove(file);
    fs::create_directory(file);
    auto directory = load_tracked_apps(file);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().find(file.string()) != std::string::npos);
}

TEST_CASE("tracked apps store: saving into a place that is not a directory fails with the path") {
    TempDir dir;
    write_all(dir.path() / "file", "x");
    const fs::path file = dir.path() / "file" / "tracked-apps.json";
    auto result = save_tracked_apps(file, sample());
    REQUIRE_FALSE(result);
    CHECK(result.error().find(dir.path().string() + "/file") != std::string::npos);
}
