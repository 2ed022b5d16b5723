#pragma once
// The event-driven observer: turns what the sources push (sources.hpp) into observations of the
// tracked apps, on the daemon's io_context.
//
// - An event for a tracked app (a unit's change, a container event matching a docker app by name
//   or id or a compose app by its labels, the exit of a watched pid) marks that app pending, with
//   the event's time. A resync marks every app of its kind.
// - Pending apps are observed again, and only through the sources they need. Events that arrive
//   within `coalesce` of the first are merged into one observation; at most one observation is in
//   flight, and two start at least `min_gap` apart. A restart loop or a flood of events therefore
//   gives a bounded rate of observations (and of state messages), and every app's latest state is
//   observed after its last event: an event that arrives during an observation makes another.
// - A full round every `round_interval` observes every app: the safety net for a lost event and
//   the way a process app that starts is found.
// The mapping from what the sources answer to a state is inventory::observe (pure).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/observe/sources.hpp"
#include "common/app/app.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/io/asio.hpp"

namespace monsys::agent::observe {

struct ObservedAppSpec {
    std::string id;
    app::AppType type = app::AppType::systemd;
    std::string identifier;

    bool operator==(const ObservedAppSpec&) const = default;
};

// One app's observation. `at` is when its state may have changed: the time of the earliest event
// that concerned it since it was last observed, or, without one, when the observation started.
struct AppObservation {
    std::string id;
    inventory::Observation observation;
    SystemTime at;
    bool from_event = false;  // an event (or a resync) asked for it; false: a round's
};

struct ObservationReport {
    std::vector<AppObservation> apps;
    bool full_round = false;
    // The first full round since track(): every app of the new list is in it.
    bool new_list = false;
};

struct ObserverSettings {
    std::chrono::milliseconds round_interval{15000};
    // How long the first event waits for the others of its burst (a stop sends several).
    std::chrono::milliseconds coalesce{25};
    // The least time between the starts of two observations.
    std::chrono::milliseconds min_gap{250};
    // Which sources are asked to push their changes (observe_events, docker_events).
    bool unit_events = true;
    bool container_events = true;
    bool process_events = true;
    // Whether a tracked path exists on the host (a process app whose path does not is unknown
    // without a scan). Called on the io_context: a stat.
    std::function<bool(const std::string& path)> path_exists;
    // The wall clock for `at` (a test fixes it).
    std::function<SystemTime()> now = [] { return std::chrono::system_clock::now(); };
};

// How the observer makes its sources: each gets the callbacks through which it pushes events.
// An empty factory leaves that kind without a source (its apps are unknown: "... not collected").
struct SourceFactories {
    std::function<std::unique_ptr<UnitSource>(SourceEvents)> units;
    std::function<std::unique_ptr<ContainerSource>(SourceEvents)> containers;
    std::function<std::unique_ptr<ProcessSource>(SourceEvents)> processes;
};

class Observer : public std::enable_shared_from_this<Observer> {
  public:
    using ReportHandler = std::function<void(ObservationReport)>;

    // Makes the sources; nothing is observed before track().
    static std::shared_ptr<Observer> create(asio::any_io_executor executor,
                                            ObserverSettings settings, SourceFactories factories,
                                            ReportHandler on_report);
    ~Observer();
    Observer(const Observer&) = delete;
    Observer& operator=(const Observer&) = delete;

    // Replaces the tracked apps (and what the sources watch), and starts a full round soon. The
    // first call also starts the periodic rounds.
    void track(std::vector<ObservedAppSpec> apps);

    // Observes this app again soon, as if an event had concerned it now: after the agent ran an
    // action on it (a process app that was restarted runs under a new pid, which no event
    // announces). An id that is not tracked is ignored.
    void observe_now(const std::string& id);

    // Cancels everything: timers and sources. No report follows.
    void stop();

    // When the last observation completed (or the observer started): the watchdog's sign that
    // the observer is alive. Rounds run every round_interval even with no app and no event, so
    // this is never older than that plus the time one observation takes, unless a source hangs.
    std::chrono::steady_clock::time_point last_progress() const;

    // For tests and the debug log.
    std::uint64_t observations_started() const { return observations_started_; }
    bool in_flight() const { return in_flight_.has_value(); }

  private:
    struct Private {};

  public:
    Observer(Private, asio::any_io_executor executor, ObserverSettings settings,
             ReportHandler on_report);

  private:
    struct InFlight;

    SourceEvents make_events();
    void on_unit_changed(const std::string& unit, SystemTime at);
    void on_units_resync();
    void on_container_changed(const ContainerEvent& event);
    void on_containers_resync();
    void on_process_exited(const std::string& path, int pid, SystemTime at);

    void mark(const std::string& id, SystemTime at);
    void mark_all(std::initializer_list<app::AppType> types, SystemTime at);
    void schedule();
    void arm_round_timer();
    void start_observation();
    void finish_part(const std::shared_ptr<InFlight>& flight);
    void complete(const std::shared_ptr<InFlight>& flight);
    void update_watched_pids(const std::shared_ptr<InFlight>& flight);

    asio::any_io_executor executor_;
    ObserverSettings settings_;
    ReportHandler on_report_;
    std::unique_ptr<UnitSource> units_;
    std::unique_ptr<ContainerSource> containers_;
    std::unique_ptr<ProcessSource> processes_;

    std::vector<ObservedAppSpec> apps_;
    std::vector<std::string> all_unit_names_;  // of apps_, sorted, each once: a round asks for them
    std::uint64_t generation_ = 0;  // moves on with every track()
    bool new_list_pending_ = false;

    // What the next observation covers: apps by id (with the earliest event time), and whether it
    // is a full round.
    std::map<std::string, SystemTime> pending_;
    bool round_due_ = false;
    std::optional<std::chrono::steady_clock::time_point> first_pending_at_;

    std::optional<std::chrono::steady_clock::time_point> in_flight_;  // started at
    std::chrono::steady_clock::time_point last_started_{};
    std::chrono::steady_clock::time_point last_completed_;
    std::uint64_t observations_started_ = 0;

    // The pid that ran each process app's path at its last observation: watched for its exit,
    // and looked at first by the next scan.
    std::map<std::string, int> running_pids_;

    asio::steady_timer start_timer_;
    asio::steady_timer round_timer_;
    bool start_timer_armed_ = false;
    bool rounds_started_ = false;
    bool stopped_ = false;
};

// Whether a container event concerns the app (docker: by name, full id or short id; compose: by
// the project and service labels). Pure.
bool container_event_matches(const ContainerEvent& event, const ObservedAppSpec& app);

// Whether an event's action may change what is observed of a container (its state and status
// line, health included). No: an exec in it (Docker runs every health probe as one, each giving
// exec_create, exec_start and exec_die), attach, detach, resize, top, a file copy, export,
// commit, podman's mount and unmount. Those would cost a re-observation for nothing and, worse,
// lend their earlier time to a real change that follows while it is pending. Every other action,
// and an empty one, may. Pure.
bool may_change_container_state(std::string_view action);

}  // namespace monsys::agent::observe
