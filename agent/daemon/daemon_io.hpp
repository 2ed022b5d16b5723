#pragma once
// The daemon's I/O, behind narrow seams: the hub connection, the observer's sources, the
// launcher of monsys-action, the inventory collection, sd_notify, the watchdog period and the
// wall clock. real_daemon_io() builds the real ones, in this one place; the daemon's tests hand in
// fakes (tests/unit/agent/daemon/daemon_test.cpp) and drive the whole wiring on one io_context.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/actions/wrapper_launcher.hpp"
#include "agent/daemon/agent_setup.hpp"
#include "agent/daemon/status_publisher.hpp"
#include "agent/hub/hub_link.hpp"
#include "agent/inventory/collect.hpp"
#include "agent/observe/observer.hpp"
#include "common/io/asio.hpp"

namespace monsys::agent::daemon {

// A collected inventory document as JSON text (empty: none to send, the reason is logged), and
// the error of each section that failed, for `monsys-agent status`.
struct CollectedInventory {
    std::string text;
    std::map<std::string, std::string> section_errors;
};

struct DaemonIo {
    // One hub connection per attempt (required).
    hub::ConnectionFactory connect;
    // Draws in [0, 1) for the link's back-off jitter; empty: random.
    std::function<double()> uniform01;
    // The observer's sources; an empty factory leaves that kind of app unobserved.
    observe::SourceFactories sources;
    // Runs monsys-action for one token; null: the real launcher from the action settings.
    std::shared_ptr<actions::WrapperLauncher> launcher;
    // Collects the inventory document, as JSON text, on the collection thread; empty text: none
    // to send (the reason is logged there).
    std::function<CollectedInventory(const inventory::CollectRequest&)> collect_inventory;
    // Tells the service manager (sd_notify's text: "READY=1", "WATCHDOG=1", "STATUS=...");
    // empty: nobody to tell.
    std::function<void(const std::string&)> notify;
    // How often WATCHDOG=1 is due (a third of WatchdogSec); zero: no watchdog.
    std::chrono::milliseconds watchdog_period{0};
    // The wall clock: changed_at and observed_at of the state reports.
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
    // Whether a tracked path exists on the host (a stat under the inventory root).
    std::function<bool(const std::string& path)> path_exists;
    // The status snapshot's file (docs/status.md); an empty writer keeps none.
    StatusFileIo status_file;
    // This process as the snapshot names it (pid and start time).
    status::ProcessIdentity self;
};

// The daemon's bounds in time. The defaults are the product's; tests shorten them.
struct DaemonTimings {
    // How long a stop waits for running restarts before the runner cancels them (their in-flight
    // records then turn into `agent-recovery` results at the next start).
    std::chrono::milliseconds action_grace{std::chrono::seconds(120)};
    // Beyond the grace, a backstop for a runner that never reports idle (its cancel is itself
    // bounded by a few seconds).
    std::chrono::milliseconds backstop_margin{std::chrono::seconds(15)};
    // How long a stop then tries to hand finished results to the hub (they stay in the outbox
    // either way).
    std::chrono::milliseconds result_flush{3000};
    // The WebSocket close handshake at the end, bounded.
    std::chrono::milliseconds close_wait{500};
    // The remembered states (changed_at across restarts) are written at most this often: a
    // flapping app must not turn into a stream of fsyncs.
    std::chrono::milliseconds persist_delay{std::chrono::seconds(5)};
    // The watchdog is fed only while the hub link's loop and the observer show life. A live link
    // loop marks progress at least every 40 s (HubLink::last_progress); the observer completes a
    // round every observe interval, each bounded by the sources' timeouts.
    std::chrono::milliseconds link_stall_limit{std::chrono::seconds(90)};
    std::chrono::milliseconds observer_stall_margin{std::chrono::seconds(30)};
    // The status snapshot: looked at every tick and written when it changed, and rewritten every
    // heartbeat regardless (a reader takes three missed heartbeats for a hung daemon).
    std::chrono::milliseconds status_tick{1000};
    std::chrono::milliseconds status_heartbeat{std::chrono::seconds(10)};
};

// The real I/O: WebSocket connections (TLS per setup.tls), sd-bus, the Docker Engine API and
// /proc for the sources, the real monsys-action launcher, the streamed inventory, sd_notify and
// the watchdog period from the service manager's environment.
DaemonIo real_daemon_io(asio::any_io_executor executor, const AgentSetup& setup);

}  // namespace monsys::agent::daemon
