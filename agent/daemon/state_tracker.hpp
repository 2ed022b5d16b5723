#pragma once
// Remembers the observed state of each tracked app between observations: when each value was
// first seen (changed_at) and whether a round of observations changed anything, which makes the
// daemon send `state` at once instead of waiting for the next interval. Pure.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/hub/messages.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "common/inventory/observed_state.hpp"

namespace monsys::agent::daemon {

struct ObservedApp {
    std::string id;
    inventory::Observation observation;
    // When the state may have changed: the time of the event that made the agent look (a unit's
    // signal, a container event, a process exit). Without it, the time of the round.
    std::optional<std::chrono::system_clock::time_point> at;
};

// The apps whose observed value changed in one round; true when there is one.
struct StateChanges {
    std::vector<std::string> ids;
    explicit operator bool() const { return !ids.empty(); }
};

class StateTracker {
  public:
    explicit StateTracker(std::map<std::string, hub::RememberedState> remembered = {})
        : states_(std::move(remembered)) {}

    // Records one round. Returns the apps whose observed value (running/stopped/unknown) differs
    // from what was remembered for them; the changed_at of each becomes its `at` (or `now`),
    // never earlier than the change before. An app seen for the first time is not a change; its
    // changed_at is its `at` (or `now`). A changed detail alone is not a change.
    StateChanges record(const std::vector<ObservedApp>& round,
                        std::chrono::system_clock::time_point now);

    // Drops apps that are no longer tracked. The version moves: the list report() follows is
    // a new one.
    void retain_only(const std::vector<hub::TrackedApp>& apps);

    // One entry per tracked app, in the order given; an app never observed is unknown with
    // detail "not observed yet" and changed_at = `now`.
    std::vector<hub::AppStateReport> report(const std::vector<hub::TrackedApp>& apps,
                                            std::chrono::system_clock::time_point now) const;

    const std::map<std::string, hub::RememberedState>& remembered() const { return states_; }

    // Moves on whenever record() changes anything report() returns for an observed app (its
    // value, detail or changed_at), and at every retain_only(), so a reader can keep what it
    // built from the last report until this moves.
    std::uint64_t version() const { return version_; }

  private:
    std::map<std::string, hub::RememberedState> states_;
    std::uint64_t version_ = 0;
};

}  // namespace monsys::agent::daemon
