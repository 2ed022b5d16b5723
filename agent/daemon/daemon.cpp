#include "agent/daemon/daemon.hpp"

#include <malloc.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/inflight_journal.hpp"
#include "agent/daemon/agent_setup.hpp"
#include "agent/daemon/state_tracker.hpp"
#include "agent/hub/disk_worker.hpp"
#include "agent/hub/hub_link.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "agent/inventory/collect.hpp"
#include "agent/observe/docker_source.hpp"
#include "agent/observe/observer.hpp"
#include "agent/observe/process_source.hpp"
#include "agent/observe/systemd_source.hpp"
#include "common/eat/replay_store.hpp"
#include "common/inventory/inventory_json.hpp"
#include "common/inventory/json_writer.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SystemClock = std::chrono::system_clock;

// How long a stop waits for running restarts before the runner cancels them (their in-flight
// records then turn into `agent-recovery` results at the next start), and how long it then
// tries to hand finished results to the hub. The runner's cancel is itself bounded (a few
// seconds); the backstop only guards against a runner that never reports idle.
constexpr seconds shutdown_action_grace{120};
constexpr seconds shutdown_backstop{shutdown_action_grace + seconds(15)};
constexpr milliseconds shutdown_flush{3000};

// The watchdog is fed only while the hub link's loop and the observer show life. A live link
// loop marks progress at least every 40 s (HubLink::last_progress); the observer completes a
// round every observe interval, each bounded by the sources' timeouts.
constexpr seconds link_stall_limit{90};
constexpr seconds observer_stall_margin{30};

// The remembered states (changed_at across restarts) are written at most this often: a
// flapping app must not turn into a stream of fsyncs.
constexpr seconds persist_delay{5};

bool host_path_exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

class Daemon {
  public:
    Daemon(asio::io_context& io, AgentSetup setup, hub::Outbox outbox, hub::TrackedAppsFile tracked)
        : io_(io),
          setup_(std::move(setup)),
          outbox_(std::move(outbox)),
          tracked_(std::move(tracked)),
          states_(tracked_.states),
          journal_(setup_.paths.inflight_dir),
          actions_(io.get_executor(), action_settings_from(setup_.config), journal_,
                   [this](actions::ActionReport report) { on_action_report(std::move(report)); },
                   actions::RunnerIo{nullptr, &disk_}),
          link_(io.get_executor(), outbox_, link_callbacks(),
                hub::websocket_link_io(io.get_executor(), setup_.tls, &disk_)),
          signals_(io, SIGTERM, SIGINT),
          state_timer_(io),
          persist_timer_(io),
          inventory_timer_(io),
          watchdog_timer_(io),
          shutdown_timer_(io),
          collector_(1),
          state_interval_(seconds(setup_.config.state_interval_secs)),
          inventory_interval_(seconds(setup_.config.inventory_interval_secs)) {
        observer_ = observe::Observer::create(
            io.get_executor(), observer_settings(), source_factories(),
            [this](observe::ObservationReport report) { on_observation(std::move(report)); });
    }

    // A collection still under way ends by its sources' timeouts; its thread is joined.
    ~Daemon() {
        observer_->stop();
        collector_.join();
    }

    int exit_code() const { return exit_code_; }

    void start() {
        recover_interrupted_actions();
        signals_.async_wait([this](beast::error_code ec, int signal) {
            if (!ec) begin_shutdown(signal == SIGTERM ? "received SIGTERM" : "received SIGINT");
        });
        link_.start([this](std::string why) { on_link_died(std::move(why)); });
        observer_->track(observed_apps());
        schedule_state_report();
        schedule_inventory(inventory_interval_);
        start_watchdog();
        sd_notify(0, "READY=1\nSTATUS=connecting to the hub");
        log::notice("monsys-agent " + std::string(build_info::version) + " started; " +
                    std::to_string(tracked_.apps.size()) + " tracked app(s) remembered");
    }

  private:
    observe::ObserverSettings observer_settings() const {
        const config::Config& config = setup_.config;
        observe::ObserverSettings settings;
        settings.round_interval = seconds(config.observe_interval_secs);
        settings.unit_events = config.observe_events;
        settings.container_events = config.observe_events && config.docker_events;
        settings.process_events = config.observe_events;
        settings.path_exists = [root = setup_.inventory_settings.root](const std::string& path) {
            return host_path_exists(root + path);
        };
        return settings;
    }

    observe::SourceFactories source_factories() const {
        const inventory::InventorySettings& inv = setup_.inventory_settings;
        auto executor = io_.get_executor();
        observe::SourceFactories factories;
        factories.units = [executor, bus = inv.bus_settings()](observe::SourceEvents events) {
            return observe::make_systemd_source(executor, bus, std::move(events));
        };
        factories.containers = [executor,
                                docker = inv.docker_settings()](observe::SourceEvents events) {
            return observe::make_docker_source(executor, docker, std::move(events));
        };
        factories.processes = [executor, root = inv.root,
                               timeout = inv.source_timeout](observe::SourceEvents events) {
            return observe::make_process_source(executor, root, timeout, std::move(events));
        };
        return factories;
    }

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
            schedule_state_report();
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
        // The observer's first round of the new list is reported at once (on_observation).
        if (!stopping_) observer_->track(observed_apps());
    }

    std::vector<observe::ObservedAppSpec> observed_apps() const {
        std::vector<observe::ObservedAppSpec> apps;
        apps.reserve(tracked_.apps.size());
        for (const auto& app : tracked_.apps) apps.push_back({app.id, app.type, app.identifier});
        return apps;
    }

    void persist_tracked_apps() {
        persist_timer_.cancel();
        persist_pending_ = false;
        tracked_.states = states_.remembered();
        // On the disk worker, as every durable file of the agent: a copy, written in order.
        disk_.post([path = setup_.paths.tracked_apps_file, copy = tracked_]() {
            if (auto saved = hub::save_tracked_apps(path, copy); !saved) {
                log::error("cannot store the tracked apps: " + saved.error());
            }
        });
    }

    void persist_soon() {
        if (persist_pending_) return;
        persist_pending_ = true;
        persist_timer_.expires_after(persist_delay);
        persist_timer_.async_wait([this](beast::error_code ec) {
            if (!ec && persist_pending_) persist_tracked_apps();
        });
    }

    // Every observation: a change is sent at once (the observer bounds how often that can be),
    // and so is the first observation of a new app list.
    void on_observation(observe::ObservationReport report) {
        if (stopping_) return;
        std::vector<ObservedApp> round;
        round.reserve(report.apps.size());
        for (auto& app : report.apps) {
            round.push_back({std::move(app.id), std::move(app.observation), app.at});
        }
        bool changed = states_.record(round, SystemClock::now());
        if (changed) persist_soon();
        if (changed || report.new_list) send_state();
    }

    void send_state() {
        const auto now = SystemClock::now();
        last_state_sent_ = std::chrono::steady_clock::now();
        link_.send(hub::MessageKind::state,
                   hub::make_state_message(states_.report(tracked_.apps, now), now));
        schedule_state_report();
    }

    // Without a change, the state is reported every state interval all the same.
    void schedule_state_report() {
        state_timer_.expires_after(state_interval_);
        state_timer_.async_wait([this](beast::error_code ec) {
            if (ec || stopping_) return;
            send_state();
        });
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
        // The document is written as it is collected (its memory does not grow with the number
        // of processes) and goes into the message as text, never parsed back into a tree.
        asio::post(collector_, [this, request]() {
            std::string text;
            inventory::StringSink sink(text);
            auto written = inventory::write_inventory_document(request, sink);
            log_section_errors(written.summary);
            if (!written.written) {
                log::error("inventory: the document could not be written; not sent");
                text.clear();
            }
            asio::post(io_, [this, text = std::move(text)]() mutable {
                collecting_ = false;
                if (stopping_ || text.empty()) return;
                link_.send(hub::MessageKind::inventory,
                           hub::make_inventory_message(nullptr, SystemClock::now()),
                           hub::PreSerialized{"inventory", std::move(text)});
                text = std::string();
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
        return collecting_ || link_.storing(hub::MessageKind::inventory);
    }

    void remember_inventory_acked() {
        disk_.post([setup = setup_]() {
            if (auto error = record_inventory_acked(setup)) {
                log::warning("cannot record the acked inventory: " + *error);
            }
        });
    }

    // --- actions --------------------------------------------------------------------------

    void on_action_report(actions::ActionReport report) {
        // An action changes its app's state (a restarted process app runs under a new pid, which
        // no event announces): look at it again now rather than at the next round.
        if (auto app_id = report.result.find("app_id");
            app_id != report.result.end() && app_id->is_string() && !stopping_) {
            observer_->observe_now(app_id->get<std::string>());
        }
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

    // Why the agent is not healthy, or nothing when it is: the hub link's loop and the observer
    // must both have shown life recently. A timer that fires proves only that the reactor runs.
    std::optional<std::string> unhealthy() const {
        const auto now = std::chrono::steady_clock::now();
        if (now - link_.last_progress() > link_stall_limit) {
            return "the hub link shows no progress";
        }
        const auto observer_limit = seconds(setup_.config.observe_interval_secs) +
                                    2 * setup_.inventory_settings.source_timeout +
                                    observer_stall_margin;
        if (now - observer_->last_progress() > observer_limit) {
            return "the observer completed no observation";
        }
        return std::nullopt;
    }

    void watchdog_tick() {
        // Sent from the reactor thread: a stuck reactor stops the heartbeat, and so does a stuck
        // link loop or observer. While stopping, the shutdown's own bounds apply.
        auto problem = stopping_ ? std::nullopt : unhealthy();
        if (!problem) {
            sd_notify(0, "WATCHDOG=1");
            watchdog_warned_ = false;
        } else if (!watchdog_warned_) {
            log::error("withholding the watchdog heartbeat: " + *problem);
            watchdog_warned_ = true;
        }
        watchdog_timer_.expires_after(watchdog_period_);
        watchdog_timer_.async_wait([this](beast::error_code ec) {
            if (!ec) watchdog_tick();
        });
    }

    // The link's loop ended without stop(): nothing would reach the hub any more. Stop, and exit
    // non-zero so that systemd starts the agent again.
    void on_link_died(std::string why) {
        log::error("the hub link stopped unexpectedly: " + why);
        exit_code_ = 1;
        begin_shutdown("the hub link stopped");
    }

    void begin_shutdown(const std::string& reason) {
        if (stopping_) return;
        stopping_ = true;
        log::notice(reason + "; finishing " + std::to_string(actions_.running()) +
                    " running action(s)");
        sd_notify(0, "STOPPING=1");
        observer_->stop();
        state_timer_.cancel();
        inventory_timer_.cancel();
        if (persist_pending_) persist_tracked_apps();
        shutdown_timer_.expires_after(shutdown_backstop);
        shutdown_timer_.async_wait([this](beast::error_code ec) {
            if (ec) return;
            log::warning("the action runner did not report idle in time; stopping anyway");
            finish_shutdown();
        });
        // After the grace the runner cancels what still runs: those actions are reported as
        // interrupted at the next start.
        actions_.shut_down(
            [this]() {
                shutdown_timer_.cancel();
                flush_then_stop();
            },
            shutdown_action_grace);
    }

    // Gives the hub a moment to ack what is in the outbox (it stays there either way).
    void flush_then_stop() {
        flush_deadline_ = std::chrono::steady_clock::now() + shutdown_flush;
        poll_flush();
    }

    void poll_flush() {
        // A result just reported may still be on its way to the outbox (stamped, being written).
        bool results_pending = link_.storing(hub::MessageKind::action_result);
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
        persist_timer_.cancel();
        signals_.cancel();
        // The close handshake, bounded; whatever else still waits on the io_context (a source's
        // reconnect back-off) is cancelled when the daemon is destroyed.
        shutdown_timer_.expires_after(milliseconds(500));
        shutdown_timer_.async_wait([this](beast::error_code) { io_.stop(); });
    }

    asio::io_context& io_;
    // The durable files (outbox, seq, in-flight journal) on one thread, in order: a result is
    // stored before its in-flight record goes. Declared first, so it is joined last.
    hub::DiskWorker disk_;
    AgentSetup setup_;
    hub::Outbox outbox_;
    hub::TrackedAppsFile tracked_;
    StateTracker states_;
    actions::InflightJournal journal_;
    actions::ActionRunner actions_;
    hub::HubLink link_;
    asio::signal_set signals_;
    std::shared_ptr<observe::Observer> observer_;
    asio::steady_timer state_timer_;
    asio::steady_timer persist_timer_;
    asio::steady_timer inventory_timer_;
    asio::steady_timer watchdog_timer_;
    asio::steady_timer shutdown_timer_;
    // Off the I/O thread: a full collection (seconds on a busy host).
    asio::thread_pool collector_;
    milliseconds state_interval_;
    milliseconds inventory_interval_;
    milliseconds watchdog_period_{0};
    std::chrono::steady_clock::time_point last_state_sent_{};
    std::chrono::steady_clock::time_point flush_deadline_{};
    bool collecting_ = false;
    bool persist_pending_ = false;
    bool watchdog_warned_ = false;
    bool stopping_ = false;
    bool finished_ = false;
    int exit_code_ = 0;
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
    int exit_code = 0;
    {
        auto daemon = std::make_unique<Daemon>(io, std::move(*setup), std::move(*outbox),
                                               std::move(*tracked));
        daemon->start();
        try {
            io.run();
            exit_code = daemon->exit_code();
        } catch (const std::exception& error) {
            // A handler threw: the loop it belonged to is gone. Exit non-zero; systemd restarts.
            log::error(std::string("monsys-agent: unexpected error: ") + error.what());
            exit_code = 1;
        }
        // The daemon's parts end here: the observer's sources, the collection thread and the
        // action workers are joined, each bounded by its own timeout.
    }
    log::notice("monsys-agent stopped");
    return exit_code;
}

}  // namespace monsys::agent::daemon
