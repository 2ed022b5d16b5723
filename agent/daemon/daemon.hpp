#pragma once
// The daemon's wiring: the hub link, the observer, the action runner and the timers of the state
// report, the inventory and the watchdog, on one io_context. It keeps the tracked apps and their
// states, sends a `state` when an observation changes one, hands actions to the runner, reports
// what the runner reports, and stops within bounds (docs/protocol.md describes the wire).
//
// Its I/O comes in through DaemonIo (daemon_io.hpp), so the wiring runs in tests against fakes;
// run_daemon.hpp builds the real one and runs it as the process.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/actions/action_delivery.hpp"
#include "agent/daemon/agent_setup.hpp"
#include "agent/daemon/daemon_io.hpp"
#include "agent/daemon/state_tracker.hpp"
#include "agent/daemon/status_publisher.hpp"
#include "agent/hub/disk_worker.hpp"
#include "agent/hub/hub_link.hpp"
#include "agent/hub/outbox.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "agent/observe/observer.hpp"
#include "common/io/asio.hpp"

namespace monsys::agent::daemon {

class Daemon {
  public:
    // Called once on the io_context when the daemon has stopped: its exit status (0 after a
    // requested stop, 1 when a loop it depends on died).
    using FinishedHandler = std::function<void(int exit_code)>;

    Daemon(asio::any_io_executor executor, AgentSetup setup, hub::Outbox outbox,
           hub::TrackedAppsFile tracked, DaemonIo io, DaemonTimings timings = {});
    // Joins the collection thread and the action runner's threads, each bounded by its own
    // timeout; cancels whatever still waits on the io_context (a source's back-off).
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Reports the actions the last run left interrupted (once each), connects to the hub, starts
    // observing the remembered apps and the timers, and says READY=1.
    void start(FinishedHandler on_finished);

    // Stops: no new observation or action; running actions get the grace, then are cancelled
    // (reported as interrupted at the next start); finished results get a moment to reach the
    // hub; then the link closes and on_finished runs. Idempotent.
    void stop(const std::string& reason);

    int exit_code() const { return exit_code_; }

  private:
    observe::ObserverSettings observer_settings() const;
    hub::LinkCallbacks link_callbacks();
    std::optional<nlohmann::json> action_key();

    void apply_intervals(const hub::IntervalOverrides& intervals);
    void replace_tracked_apps(std::vector<hub::TrackedApp> apps);
    std::vector<observe::ObservedAppSpec> observed_apps() const;
    void persist_tracked_apps();
    void persist_soon();
    void on_observation(observe::ObservationReport report);
    void log_state_changes(const StateChanges& changes) const;
    void send_state();
    void schedule_state_report();

    void schedule_inventory(std::chrono::milliseconds delay);
    void collect_inventory();
    void on_inventory_collected(CollectedInventory collected);
    bool inventory_pending() const;
    void remember_inventory_acked();

    actions::DeliveryIo delivery_io();
    void on_action_report(actions::ActionReport report);
    void remember_action(const actions::ActionReport& report);

    // What `monsys-agent status` shows, as of now (docs/status.md): all but the tracked apps,
    // built every status tick; the apps only when their version moved (with a thousand apps
    // they are most of the snapshot's cost).
    StatusSource status_source();
    status::Snapshot status_snapshot() const;
    std::optional<std::uint64_t> status_apps_version();
    std::vector<status::AppStatus> status_apps() const;

    void start_watchdog();
    Expected<void, std::string> check_healthy() const;
    void watchdog_tick();
    void notify(const std::string& text) const;

    void on_link_died(std::string why);
    void flush_then_stop();
    void poll_flush();
    void finish_shutdown();

    asio::any_io_executor executor_;
    DaemonIo io_;
    DaemonTimings timings_;
    // The durable files (outbox, seq, in-flight journal, result ledger, tracked apps) on one
    // thread, in order: a result is stored before its in-flight record goes, and in the ledger
    // before its outbox file goes. Declared before its users, so it is
    // joined after they are gone.
    hub::DiskWorker disk_;
    AgentSetup setup_;
    hub::Outbox outbox_;
    hub::TrackedAppsFile tracked_;
    StateTracker states_;
    // The states' version at which every tracked app had been observed (status_apps_version).
    std::optional<std::uint64_t> all_observed_at_version_;
    // Every action frame: verified, decided against the in-flight journal, the outbox and the
    // result ledger (one result per verified jti), run by monsys-action, reported.
    actions::ActionDelivery delivery_;
    hub::HubLink link_;
    std::shared_ptr<observe::Observer> observer_;
    asio::steady_timer state_timer_;
    asio::steady_timer persist_timer_;
    asio::steady_timer inventory_timer_;
    asio::steady_timer watchdog_timer_;
    asio::steady_timer shutdown_timer_;
    // Off the I/O thread: a full collection (seconds on a busy host).
    asio::thread_pool collector_;
    // Handlers posted back from the collection thread check it, so they do nothing once the
    // daemon is gone.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    FinishedHandler on_finished_;
    std::chrono::milliseconds state_interval_;
    std::chrono::milliseconds inventory_interval_;
    std::chrono::steady_clock::time_point flush_deadline_{};
    bool collecting_ = false;
    bool persist_pending_ = false;
    bool watchdog_warned_ = false;
    bool stopping_ = false;
    bool finished_ = false;
    int exit_code_ = 0;
    std::string action_key_problem_;  // the last one logged
    // For the status snapshot.
    std::chrono::system_clock::time_point started_at_;
    std::deque<status::ActionStatus> recent_actions_;  // newest last
    status::InventoryStatus inventory_status_;
    StatusPublisher status_;
};

}  // namespace monsys::agent::daemon
