#include "agent/daemon/daemon.hpp"

#include <malloc.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/inflight_journal.hpp"
#include "agent/daemon/agent_setup.hpp"
#include "agent/daemon/state_tracker.hpp"
#include "agent/hub/hub_link.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "agent/inventory/collect.hpp"
#include "agent/inventory/observe.hpp"
#include "common/eat/replay_store.hpp"
#include "common/inventory/inventory_json.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SystemClock = std::chrono::system_clock;

// How long a stop waits for running restarts before it gives up on them (their in-flight
// records then turn into `agent-recovery` results at the next start), and how long it then
// tries to hand finished results to the hub.
constexpr seconds shutdown_action_grace{120};
constexpr milliseconds shutdown_flush{3000};

class Daemon {
  public:
    Daemon(asio::io_context& io, AgentSetup setup, hub::Outbox outbox, hub::TrackedAppsFile tracked)
        : io_(io),
          setup_(std::move(setup)),
          outbox_(std::move(outbox)),
          tracked_(std::move(tracked)),
          states_(tracked_.states),
          app_observer_(setup_.inventory_settings, io.get_executor()),
          journal_(setup_.paths.inflight_dir),
          actions_(io.get_executor(), action_settings_from(setup_.config), journal_,
                   [this](actions::ActionReport report) { on_action_report(std::move(report)); }),
          link_(io.get_executor(), setup_.tls, outbox_, link_callbacks()),
          signals_(io, SIGTERM, SIGINT),
          observe_timer_(io),
          inventory_timer_(io),
          watchdog_timer_(io),
          shutdown_timer_(io),
          collector_(1),
          observer_(1),
          state_interval_(seconds(setup_.config.state_interval_secs)),
          inventory_interval_(seconds(setup_.config.inventory_interval_secs)) {}

    ~Daemon() {
        collector_.join();
        observer_.join();
    }

    bool busy() const { return actions_.running() > 0 || observing_ || collecting_; }

    void start() {
        recover_interrupted_actions();
        signals_.async_wait([this](beast::error_code ec, int signal) {
            if (!ec) begin_shutdown(signal);
        });
        link_.start();
        schedule_observation(milliseconds(0));
        schedule_inventory(inventory_interval_);
        start_watchdog();
        sd_notify(0, "READY=1\nSTATUS=connecting to the hub");
        log::notice("monsys-agent " + std::string(build_info::version) + " started; " +
                    std::to_string(tracked_.apps.size()) + " tracked app(s) remembered");
    }

  private:
    hub::LinkCallbacks link_callbacks() {
        hub::LinkCallbacks callbacks;
        callbacks.connect_options = [this]() { return connect_options(setup_); };
        callbacks.hello = [this]() {
            hub::HelloFields hello;
            hello.agent_id = setup_.config.agent_id;
            hello.version = build_info::version;
            hello.hostname = setup_.host.hostname;
            hello.boot_id = setup_.host.boot_id;
            hello.tags = setup_.config.tags;
            hello.last_acked_seq = outbox_.last_acked();
            return hello;
        };
        callbacks.on_connected = [this]() {
            sd_notify(0, "STATUS=connected to the hub");
            if (!inventory_acked_this_boot(setup_) && !inventory_pending()) collect_inventory();
        };
        callbacks.on_welcome = [this](const hub::Welcome& welcome) {
            apply_intervals(welcome.intervals);
            replace_tracked_apps(welcome.apps);
        };
        callbacks.on_apps = [this](const hub::AppsUpdate& update) {
            replace_tracked_apps(update.apps);
        };
        callbacks.on_action = [this](std::string eat) { actions_.submit(std::move(eat)); };
        callbacks.on_collect = [this]() { collect_inventory(); };
        callbacks.on_acked = [this](const hub::PendingMessage& message) {
            if (message.kind == hub::MessageKind::inventory) {
                remember_inventory_acked();
            }
        };
        return callbacks;
    }

    // --- tracked apps and state -----------------------------------------------------------

    void apply_intervals(const hub::IntervalOverrides& intervals) {
        if (intervals.state_interval_secs) {
            state_interval_ =
                seconds(std::clamp<std::int64_t>(*intervals.state_interval_secs, 5, 86400));
        }
        if (intervals.inventory_interval_secs) {
            auto wanted = seconds(
                std::clamp<std::int64_t>(*intervals.inventory_interval_secs, 60, 30 * 86400));
            if (wanted != inventory_interval_) {
                inventory_interval_ = wanted;
                schedule_inventory(inventory_interval_);
            }
        }
    }

    void replace_tracked_apps(std::vector<hub::TrackedApp> apps) {
        tracked_.apps = std::move(apps);
        states_.retain_only(tracked_.apps);
        persist_tracked_apps();
        log::info("tracking " + std::to_string(tracked_.apps.size()) + " app(s)");
        force_state_ = true;
        if (!observing_) schedule_observation(milliseconds(0));  // report the list at once
    }

    std::vector<std::string> tracked_ids() const {
        std::vector<std::string> ids;
        for (const auto& app : tracked_.apps) ids.push_back(app.id);
        return ids;
    }

    void persist_tracked_apps() {
        tracked_.states = states_.remembered();
        if (auto saved = hub::save_tracked_apps(setup_.paths.tracked_apps_file, tracked_); !saved) {
            log::error("cannot store the tracked apps: " + saved.error());
        }
    }

    void schedule_observation(milliseconds delay) {
        observe_timer_.expires_after(delay);
        observe_timer_.async_wait([this](beast::error_code ec) {
            if (!ec && !stopping_) observe();
        });
    }

    void observe() {
        if (observing_) return;
        observing_ = true;
        std::vector<inventory::TrackedApp> apps;
        std::vector<std::string> ids;
        for (const auto& app : tracked_.apps) {
            apps.push_back({app.type, app.identifier});
            ids.push_back(app.id);
        }
        asio::post(observer_, [this, apps = std::move(apps), ids = std::move(ids)]() {
            auto started = std::chrono::steady_clock::now();
            auto observations = app_observer_.observe(apps);
            if (!apps.empty()) {
                char took[32];
                std::snprintf(took, sizeof took, "%.1f",
                              std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - started)
                                  .count());
                log::debug("observed " + std::to_string(apps.size()) + " app(s) in " + took +
                           " ms" +
                           (app_observer_.last_round_reused_container_list()
                                ? " (container list reused: no container event since)"
                                : ""));
            }
            asio::post(io_, [this, ids, observations = std::move(observations)]() {
                after_observation(ids, observations);
            });
        });
    }

    void after_observation(const std::vector<std::string>& ids,
                           const std::vector<inventory::Observation>& observations) {
        observing_ = false;
        if (stopping_) return;
        std::vector<ObservedApp> round;
        for (std::size_t i = 0; i < ids.size() && i < observations.size(); ++i) {
            round.push_back({ids[i], observations[i]});
        }
        const auto now = SystemClock::now();
        bool changed = states_.record(round, now);
        if (changed) persist_tracked_apps();
        const auto steady_now = std::chrono::steady_clock::now();
        // A new app list is reported by the first round that observed that list.
        bool list_reported = force_state_ && ids == tracked_ids();
        if (changed || list_reported || steady_now - last_state_sent_ >= state_interval_) {
            if (list_reported) force_state_ = false;
            last_state_sent_ = steady_now;
            link_.send(hub::MessageKind::state,
                       hub::make_state_message(states_.report(tracked_.apps, now), now));
        }
        auto interval =
            std::min<milliseconds>(seconds(setup_.config.observe_interval_secs), state_interval_);
        schedule_observation(force_state_ ? milliseconds(0) : interval);
    }

    // --- inventory ------------------------------------------------------------------------

    void schedule_inventory(milliseconds delay) {
        inventory_timer_.expires_after(delay);
        inventory_timer_.async_wait([this](beast::error_code ec) {
            if (ec || stopping_) return;
            collect_inventory();
            schedule_inventory(inventory_interval_);
        });
    }

    void collect_inventory() {
        if (collecting_) return;
        collecting_ = true;
        inventory::CollectRequest request;
        request.settings = setup_.inventory_settings;
        asio::post(collector_, [this, request]() {
            auto collected = inventory::collect_inventory(request);
            log_section_errors(collected.inventory);
            auto document = inventory::to_json(collected.inventory);
            asio::post(io_, [this, document = std::move(document)]() mutable {
                collecting_ = false;
                if (stopping_) return;
                link_.send(hub::MessageKind::inventory,
                           hub::make_inventory_message(document, SystemClock::now()));
                document = nullptr;
                // A collection briefly needs a few MiB; give them back to the system rather than
                // keep them in malloc's free lists until the next one in six hours.
                ::malloc_trim(0);
            });
        });
    }

    static void log_section_errors(const inventory::Inventory& inv) {
        auto report = [](const char* name, const auto& section) {
            if (section && section->status.error) {
                log::warning(std::string("inventory: section ") + name + ": " +
                             *section->status.error);
            }
        };
        report("systemd", inv.systemd);
        report("docker", inv.docker);
        report("processes", inv.processes);
        report("packages", inv.packages);
        report("ports", inv.ports);
    }

    bool inventory_pending() const {
        for (const auto& message : outbox_.pending()) {
            if (message.kind == hub::MessageKind::inventory) return true;
        }
        return collecting_;
    }

    void remember_inventory_acked() {
        if (auto error = record_inventory_acked(setup_)) {
            log::warning("cannot record the acked inventory: " + *error);
        }
    }

    // --- actions --------------------------------------------------------------------------

    void on_action_report(actions::ActionReport report) {
        link_.send(hub::MessageKind::action_result,
                   hub::make_action_result_message(report.jti, report.reported_by,
                                                   std::move(report.result)));
    }

    // Actions that were running when the agent last died: report each once, as interrupted.
    void recover_interrupted_actions() {
        eat::ReplayStore store(config::replay_store_path(setup_.config));
        const auto now_text = format_utc_millis(SystemClock::now());
        std::vector<std::string> problems;
        auto leftovers = journal_.leftovers(&problems);
        for (const auto& problem : problems) log::warning("in-flight actions: " + problem);
        for (const auto& action : leftovers) {
            if (!outbox_.has_action_result(action.jti)) {
                auto seen = store.seen(action.jti, static_cast<std::int64_t>(std::time(nullptr)));
                bool consumed = !seen || *seen;  // unreadable: assume it may have run
                log::warning("action " + action.jti + " for app " + action.app_id +
                             " was interrupted by the agent's last stop; reporting it as failed");
                link_.send(hub::MessageKind::action_result,
                           hub::make_action_result_message(
                               action.jti, "agent-recovery",
                               actions::interrupted_result(action, consumed, now_text)));
            }
            journal_.remove(action.jti);
        }
    }

    // --- systemd integration --------------------------------------------------------------

    void start_watchdog() {
        std::uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
        watchdog_period_ =
            std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(usec / 3));
        log::info("systemd watchdog enabled; heartbeat every " +
                  std::to_string(watchdog_period_.count()) + " ms");
        watchdog_tick();
    }

    void watchdog_tick() {
        // Sent from the reactor thread: a stuck reactor stops the heartbeat.
        sd_notify(0, "WATCHDOG=1");
        watchdog_timer_.expires_after(watchdog_period_);
        watchdog_timer_.async_wait([this](beast::error_code ec) {
            if (!ec) watchdog_tick();
        });
    }

    void begin_shutdown(int signal) {
        if (stopping_) return;
        stopping_ = true;
        log::notice(std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
                    "; finishing " + std::to_string(actions_.running()) + " running action(s)");
        sd_notify(0, "STOPPING=1");
        observe_timer_.cancel();
        inventory_timer_.cancel();
        shutdown_timer_.expires_after(shutdown_action_grace);
        shutdown_timer_.async_wait([this](beast::error_code ec) {
            if (ec) return;
            log::warning(
                "running actions did not finish in time; they will be reported as "
                "interrupted at the next start");
            finish_shutdown();
        });
        actions_.shut_down([this]() {
            shutdown_timer_.cancel();
            flush_then_stop();
        });
    }

    // Gives the hub a moment to ack what is in the outbox (it stays there either way).
    void flush_then_stop() {
        flush_deadline_ = std::chrono::steady_clock::now() + shutdown_flush;
        poll_flush();
    }

    void poll_flush() {
        bool results_pending = false;
        for (const auto& message : outbox_.pending()) {
            if (message.kind == hub::MessageKind::action_result) results_pending = true;
        }
        if (!results_pending || !link_.connected() ||
            std::chrono::steady_clock::now() >= flush_deadline_) {
            finish_shutdown();
            return;
        }
        shutdown_timer_.expires_after(milliseconds(50));
        shutdown_timer_.async_wait([this](beast::error_code) { poll_flush(); });
    }

    void finish_shutdown() {
        if (finished_) return;
        finished_ = true;
        link_.stop();
        watchdog_timer_.cancel();
        signals_.cancel();
        shutdown_timer_.expires_after(milliseconds(500));  // the close handshake, bounded
        shutdown_timer_.async_wait([this](beast::error_code) { io_.stop(); });
    }

    asio::io_context& io_;
    AgentSetup setup_;
    hub::Outbox outbox_;
    hub::TrackedAppsFile tracked_;
    StateTracker states_;
    // Used on observer_'s thread only; its container event watch runs on io_.
    inventory::AppObserver app_observer_;
    actions::InflightJournal journal_;
    actions::ActionRunner actions_;
    hub::HubLink link_;
    asio::signal_set signals_;
    asio::steady_timer observe_timer_;
    asio::steady_timer inventory_timer_;
    asio::steady_timer watchdog_timer_;
    asio::steady_timer shutdown_timer_;
    // Off the I/O thread: a full collection (seconds on a busy host) and the observation rounds
    // (tens of milliseconds), each on its own thread so a slow source never delays a state report.
    asio::thread_pool collector_;
    asio::thread_pool observer_;
    milliseconds state_interval_;
    milliseconds inventory_interval_;
    milliseconds watchdog_period_{0};
    std::chrono::steady_clock::time_point last_state_sent_{};
    std::chrono::steady_clock::time_point flush_deadline_{};
    bool observing_ = false;
    bool collecting_ = false;
    bool force_state_ = true;
    bool stopping_ = false;
    bool finished_ = false;
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
    log::init_from_environment();
    auto setup = prepare_agent(options.config_path);
    if (!setup) {
        log::error(setup.error());
        return 1;
    }
    if (auto dirs = prepare_state_dirs(setup->paths); !dirs) {
        log::error(dirs.error());
        return 1;
    }
    auto counter = hub::SequenceCounter::open(setup->paths.seq_file);
    if (!counter) {
        log::error(counter.error());
        return 1;
    }
    auto outbox = hub::Outbox::open(setup->paths.outbox_dir, std::move(*counter));
    if (!outbox) {
        log::error(outbox.error());
        return 1;
    }
    for (const auto& problem : outbox->problems()) log::warning("outbox: " + problem);
    auto tracked = hub::load_tracked_apps(setup->paths.tracked_apps_file);
    if (!tracked) {
        // The hub sends the list again on connect; a broken copy only costs the first reports.
        log::warning(tracked.error() + "; starting with no tracked apps until the hub sends them");
        tracked = hub::TrackedAppsFile{};
    }
    // Few arenas: the agent's threads are mostly idle, and each arena keeps its own free memory.
    ::mallopt(M_ARENA_MAX, 2);
    asio::io_context io(1);
    auto daemon =
        std::make_unique<Daemon>(io, std::move(*setup), std::move(*outbox), std::move(*tracked));
    daemon->start();
    io.run();
    log::notice("monsys-agent stopped");
    if (daemon->busy()) {
        // A wrapper or a collection still runs past the grace period: leave without joining
        // it. Everything that matters is on disk already.
        std::_Exit(0);
    }
    return 0;
}

}  // namespace monsys::agent::daemon
