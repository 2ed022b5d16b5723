#include <doctest/doctest.h>

#include <chrono>

#include "agent/daemon/state_tracker.hpp"

using namespace monsys::agent;
using monsys::agent::daemon::ObservedApp;
using monsys::agent::daemon::StateTracker;
using monsys::app::AppType;
using monsys::inventory::AppState;
using namespace std::chrono_literals;

namespace {

const std::chrono::system_clock::time_point t0{std::chrono::milliseconds(1795857243120)};

ObservedApp seen(std::string id, AppState state, std::string detail = "") {
    return {std::move(id), {state, std::move(detail)}, std::nullopt};
}

hub::TrackedApp tracked(std::string id) {
    return {std::move(id), "name", AppType::systemd, "x.service", "running", std::nullopt};
}

}  // namespace

TEST_CASE("state tracker: an app seen for the first time is not a change") {
    StateTracker tracker;
    CHECK_FALSE(tracker.record({seen("a", AppState::running, "active (running)"),
                                seen("b", AppState::stopped, "inactive (dead)")},
                               t0));
    REQUIRE(tracker.remembered().size() == 2);
    const hub::RememberedState& a = tracker.remembered().at("a");
    CHECK(a.observed == AppState::running);
    CHECK(a.detail == "active (running)");
    CHECK(a.changed_at == t0);
    CHECK(tracker.remembered().at("b").observed == AppState::stopped);
}

TEST_CASE("state tracker: a changed value is a change, and moves changed_at") {
    StateTracker tracker;
    tracker.record({seen("a", AppState::running, "active (running)")}, t0);
    CHECK_FALSE(tracker.record({seen("a", AppState::running, "active (running)")}, t0 + 15s));
    CHECK(tracker.remembered().at("a").changed_at == t0);

    CHECK(tracker.record({seen("a", AppState::stopped, "failed (failed)")}, t0 + 30s));
    CHECK(tracker.remembered().at("a").observed == AppState::stopped);
    CHECK(tracker.remembered().at("a").detail == "failed (failed)");
    CHECK(tracker.remembered().at("a").changed_at == t0 + 30s);

    CHECK(tracker.record({seen("a", AppState::unknown, "no bus")}, t0 + 45s));
    CHECK(tracker.remembered().at("a").changed_at == t0 + 45s);
    CHECK(tracker.record({seen("a", AppState::running, "active (running)")}, t0 + 60s));
}

TEST_CASE("state tracker: a changed detail alone is not a change, but is remembered") {
    StateTracker tracker;
    tracker.record({seen("c", AppState::stopped, "exited (code 0)")}, t0);
    CHECK_FALSE(tracker.record({seen("c", AppState::stopped, "exited (code 137)")}, t0 + 15s));
    CHECK(tracker.remembered().at("c").detail == "exited (code 137)");
    CHECK(tracker.remembered().at("c").changed_at == t0);
}

TEST_CASE("state tracker: one changed app among many makes the round a change") {
    StateTracker tracker;
    tracker.record({seen("a", AppState::running), seen("b", AppState::running)}, t0);
    const auto changes = tracker.record(
        {seen("a", AppState::running), seen("b", AppState::stopped), seen("new", AppState::running)},
        t0 + 15s);
    CHECK(changes);
    CHECK(changes.ids == std::vector<std::string>{"b"});  // the new app is not a change
    CHECK(tracker.remembered().at("a").changed_at == t0);
    CHECK(tracker.remembered().at("b").changed_at == t0 + 15s);
    CHECK(tracker.remembered().at("new").changed_at == t0 + 15s);
    // Apps missing from a round keep what was remembered.
    CHECK_FALSE(tracker.record({}, t0 + 30s));
    CHECK(tracker.remembered().size() == 3);
}

TEST_CASE("state tracker: what was remembered across a restart counts") {
    std::map<std::string, hub::RememberedState> remembered;
    remembered["a"] = {AppState::running, "active (running)", t0 - 1h};
    remembered["b"] = {AppState::stopped, "inactive (dead)", t0 - 2h};
    StateTracker tracker(remembered);
    CHECK_FALSE(tracker.record({seen("a", AppState::running, "active (running)")}, t0));
    CHECK(tracker.remembered().at("a").changed_at == t0 - 1h);
    CHECK(tracker.record({seen("b", AppState::running, "active (running)")}, t0));
    CHECK(tracker.remembered().at("b").changed_at == t0);
}

TEST_CASE("state tracker: retain_only drops apps that are no longer tracked") {
    StateTracker tracker;
    tracker.record(
        {seen("a", AppState::running), seen("b", AppState::stopped), seen("c", AppState::unknown)},
        t0);
    tracker.retain_only({tracked("c"), tracked("a"), tracked("not-observed")});
    CHECK(tracker.remembered().size() == 2);
    CHECK(tracker.remembered().count("a") == 1);
    CHECK(tracker.remembered().count("c") == 1);
    CHECK(tracker.remembered().count("b") == 0);
    // Seen again later, a dropped app is new: not a change.
    CHECK_FALSE(tracker.record({seen("b", AppState::running)}, t0 + 15s));
    CHECK(tracker.remembered().at("b").changed_at == t0 + 15s);

    tracker.retain_only({});
    CHECK(tracker.remembered().empty());
}

TEST_CASE("state tracker: the report follows the tracked list, and says what was not observed") {
    StateTracker tracker;
    tracker.record(
        {seen("b", AppState::stopped, "exited (code 137)"),
         seen("a", AppState::running, "active (running)"), seen("untracked", AppState::running)},
        t0);
    const auto now = t0 + 20s;
    auto report = tracker.report({tracked("c"), tracked("a"), tracked("b")}, now);
    REQUIRE(report.size() == 3);

    CHECK(report[0].id == "c");
    CHECK(report[0].observed == AppState::unknown);
    CHECK(report[0].detail == "not observed yet");
    CHECK(report[0].changed_at == now);

    CHECK(report[1].id == "a");
    CHECK(report[1].observed == AppState::running);
    CHECK(report[1].detail == "active (running)");
    CHECK(report[1].changed_at == t0);

    CHECK(report[2].id == "b");
    CHECK(report[2].observed == AppState::stopped);
    CHECK(report[2].detail == "exited (code 137)");

    CHECK(tracker.report({}, now).empty());
    // Reporting changes nothing.
    CHECK(tracker.remembered().count("c") == 0);
}

TEST_CASE("state tracker: a change takes the time of the event that made the agent look") {
    StateTracker tracker;
    tracker.record({seen("a", AppState::running)}, t0);
    ObservedApp stopped = seen("a", AppState::stopped, "inactive (dead)");
    stopped.at = t0 + 10s + 120ms;  // the unit's signal; observed 300 ms later
    CHECK(tracker.record({stopped}, t0 + 10s + 420ms));
    CHECK(tracker.remembered().at("a").changed_at == t0 + 10s + 120ms);

    // An event stamped before the last change (a late one) does not move changed_at back.
    ObservedApp running = seen("a", AppState::running);
    running.at = t0 + 5s;
    CHECK(tracker.record({running}, t0 + 11s));
    CHECK(tracker.remembered().at("a").changed_at == t0 + 10s + 120ms);

    // An event with no change keeps the time of the last change.
    ObservedApp again = seen("a", AppState::running);
    again.at = t0 + 20s;
    CHECK_FALSE(tracker.record({again}, t0 + 20s));
    CHECK(tracker.remembered().at("a").changed_at == t0 + 10s + 120ms);
}

TEST_CASE("state tracker: the version moves with anything the report shows, and only then") {
    StateTracker tracker;
    const auto v0 = tracker.version();
    tracker.record({seen("a", AppState::running, "active (running)")}, t0);
    const auto v1 = tracker.version();
    CHECK(v1 != v0);  // a new app

    // The same observation again: nothing moved.
    tracker.record({seen("a", AppState::running, "active (running)")}, t0 + 15s);
    CHECK(tracker.version() == v1);

    // A detail alone is no change for the hub, but the report shows it.
    tracker.record({seen("a", AppState::running, "reloading (reload)")}, t0 + 30s);
    const auto v2 = tracker.version();
    CHECK(v2 != v1);

    // A changed value.
    tracker.record({seen("a", AppState::stopped, "reloading (reload)")}, t0 + 45s);
    const auto v3 = tracker.version();
    CHECK(v3 != v2);

    // A new list moves it, whether or not an app went.
    tracker.retain_only({tracked("a"), tracked("b")});
    const auto v4 = tracker.version();
    CHECK(v4 != v3);
    tracker.retain_only({});
    CHECK(tracker.version() != v4);
}
