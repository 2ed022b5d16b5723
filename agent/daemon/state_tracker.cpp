#include "agent/daemon/state_tracker.hpp"

#include <algorithm>
#include <set>

namespace monsys::agent::daemon {

StateChanges StateTracker::record(const std::vector<ObservedApp>& round,
                                  std::chrono::system_clock::time_point now) {
    StateChanges changes;
    for (const ObservedApp& app : round) {
        const auto at = app.at.value_or(now);
        auto [it, first_seen] = states_.try_emplace(
            app.id, hub::RememberedState{app.observation.state, app.observation.detail, at});
        if (first_seen) {
            ++version_;
            continue;
        }
        hub::RememberedState& state = it->second;
        if (state.observed != app.observation.state) {
            state.observed = app.observation.state;
            // An event stamped before the last change (a late one, or another clock) does not
            // move changed_at back.
            state.changed_at = std::max(state.changed_at, at);
            changes.ids.push_back(app.id);
            ++version_;
        }
        if (state.detail != app.observation.detail) {
            state.detail = app.observation.detail;
            ++version_;
        }
    }
    return changes;
}

void StateTracker::retain_only(const std::vector<hub::TrackedApp>& apps) {
    std::set<std::string> tracked;
    for (const hub::TrackedApp& app : apps) tracked.insert(app.id);
    std::erase_if(states_,
                  [&tracked](const auto& entry) { return !tracked.contains(entry.first); });
    ++version_;
}

std::vector<hub::AppStateReport> StateTracker::report(
    const std::vector<hub::TrackedApp>& apps, std::chrono::system_clock::time_point now) const {
    std::vector<hub::AppStateReport> reports;
    reports.reserve(apps.size());
    for (const hub::TrackedApp& app : apps) {
        auto it = states_.find(app.id);
        if (it == states_.end()) {
            reports.push_back({app.id, inventory::AppState::unknown, "not observed yet", now});
        } else {
            reports.push_back(
                {app.id, it->second.observed, it->second.detail, it->second.changed_at});
        }
    }
    return reports;
}

}  // namespace monsys::agent::daemon
