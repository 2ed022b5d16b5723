#include "agent/daemon/daemon.hpp"

#include <malloc.h>

#include <algorithm>
#include <set>

#include "common/action/action_key.hpp"
#include "common/build_info.hpp"
#include "common/util/log.hpp"

namespace monsys::agent::daemon {

using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// The link's I/O: the daemon's connections, and its disk worker for the outbox.
hub::LinkIo link_io(const DaemonIo& io, hub::DiskWorker* disk) {
    hub::LinkIo link;
    link.connect = io.connect;
    link.uniform01 = io.uniform01;
    link.disk = disk;
    return link;
}

}  // namespace

Daemon::Daemon(asio::any_io_executor executor, AgentSetup setup, hub::Outbox outbox,
               hub::TrackedAppsFile tracked, DaemonIo io, DaemonTimings timings)
    : executor_(executor),
      io_(std::move(io)),
      timings_(timings),
      setup_(std::move(setup)),
      outbox_(std::move(outbox)),
      tracked_(std::move(tracked)),
      states_(tracked_.states),
      delivery_(executor, action_settings_from(setup_.config),
                actions::DeliveryPaths{setup_.paths.inflight_dir, setup_.paths.ledger_dir},
                delivery_io()),
      link_(executor, outbox_, link_callbacks(), link_io(io_, &disk_)),
      state_timer_(executor),
      persist_timer_(executor),
      inventory_timer_(executor),
      watchdog_timer_(executor),
      shutdown_timer_(executor),
      collector_(1),
      state_interval_(seconds(setup_.config.state_interval_secs)),
      inventory_interval_(seconds(setup_.config.inventory_interval_secs)),
      started_at_(io_.now()),
      status_(executor, status_source(), io_.status_file, timings_.status_tick,
              timings_.status_heartbeat) {
    observer_ = observe::Observer::create(
        executor, observer_settings(), io_.sources,
        [this](observe::ObservationReport report) { on_observation(std::move(report)); });
}

Daemon::~Daemon() {
    observer_->stop();
    collector_.join();
}

void Daemon::start(FinishedHandler on_finished) {
    on_finished_ = std::move(on_finished);
    delivery_.start();
    link_.start([this](std::string why) { on_link_died(std::move(why)); });
    observer_->track(observed_apps());
    schedule_state_report();
    schedule_inventory(inventory_interval_);
    start_watchdog();
    status_.start();
    notify("READY=1\nSTATUS=connecting to the hub");
    log::notice("monsys-agent " + std::string(build_info::version) + " started; " +
                std::to_string(tracked_.apps.size()) + " tracked app(s) remembered");
}

observe::ObserverSettings Daemon::observer_settings() const {
    const config::Config& config = setup_.config;
    observe::ObserverSettings settings;
    settings.round_interval = seconds(config.observe_interval_secs);
    settings.unit_events = config.observe_events;
    settings.container_events = config.observe_events && config.docker_events;
    settings.process_events = config.observe_events;
    settings.path_exists = io_.path_exists;
    settings.now = io_.now;
    return settings;
}

hub::LinkCallbacks Daemon::link_callbacks() {
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
        hello.action_key = action_key();
        return hello;
    };
    callbacks.on_connected = [this]() {
        notify("STATUS=connected to the hub");
        if (!inventory_acked_this_boot(setup_) && !inventory_pending()) collect_inventory();
    };
    callbacks.on_welcome = [this](const hub::Welcome& welcome) {
        apply_intervals(welcome.intervals);
        replace_tracked_apps(welcome.apps);
    };
    callbacks.on_apps = [this](const hub::AppsUpdate& update) {
        replace_tracked_apps(update.apps);
    };
    callbacks.on_action = [this](std::string eat) { delivery_.submit(std::move(eat)); };
    callbacks.on_collect = [this]() { collect_inventory(); };
    callbacks.on_acked = [this](const hub::PendingMessage& message) {
        // An acked result goes into the result ledger (before its outbox file goes).
        delivery_.on_acked(message);
        if (message.kind == hub::MessageKind::inventory) remember_inventory_acked();
    };
    // A verified result the outbox's bound dropped before its ack: kept in the ledger as an
    // acked one, so a re-delivered action gets the same frame back.
    callbacks.on_evicted = [this](const hub::PendingMessage& message) {
        delivery_.on_acked(message);
    };
    return callbacks;
}

// monsys-action's public key, read again for every hello (one small file), so a rotated key
// reaches the hub with the next connection. Without it hello says null; the problem is logged
// once, not at every reconnect.
std::optional<nlohmann::json> Daemon::action_key() {
    auto key = results::read_action_public_key(setup_.config.state_dir);
    if (!key) {
        if (key.error() != action_key_problem_) {
            log::warning("hello carries no action key: " + key.error());
            action_key_problem_ = key.error();
        }
        return std::nullopt;
    }
    action_key_problem_.clear();
    return std::move(*key);
}

// --- tracked apps and state ---------------------------------------------------------------

void Daemon::apply_intervals(const hub::IntervalOverrides& intervals) {
    if (intervals.state_interval_secs) {
        state_interval_ =
            seconds(std::clamp<std::int64_t>(*intervals.state_interval_secs, 5, 86400));
        schedule_state_report();
    }
    if (intervals.inventory_interval_secs) {
        auto wanted =
            seconds(std::clamp<std::int64_t>(*intervals.inventory_interval_secs, 60, 30 * 86400));
        if (wanted != inventory_interval_) {
            inventory_interval_ = wanted;
            schedule_inventory(inventory_interval_);
        }
    }
}

void Daemon::replace_tracked_apps(std::vector<hub::TrackedApp> apps) {
    tracked_.apps = std::move(apps);
    states_.retain_only(tracked_.apps);
    persist_tracked_apps();
    log::info("tracking " + std::to_string(tracked_.apps.size()) + " app(s)");
    // The observer's first round of the new list is reported at once (on_observation).
    if (!stopping_) observer_->track(observed_apps());
}

std::vector<observe::ObservedAppSpec> Daemon::observed_apps() const {
    std::vector<observe::ObservedAppSpec> apps;
    apps.reserve(tracked_.apps.size());
    for (const auto& app : tracked_.apps) apps.push_back({app.id, app.type, app.identifier});
    return apps;
}

void Daemon::persist_tracked_apps() {
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

void Daemon::persist_soon() {
    if (persist_pending_) return;
    persist_pending_ = true;
    persist_timer_.expires_after(timings_.persist_delay);
    persist_timer_.async_wait([this](beast::error_code ec) {
        if (!ec && persist_pending_) persist_tracked_apps();
    });
}

// Every observation: a change is sent at once (the observer bounds how often that can be), and
// so is the first observation of a new app list.
void Daemon::on_observation(observe::ObservationReport report) {
    if (stopping_) return;
    std::vector<ObservedApp> round;
    round.reserve(report.apps.size());
    for (auto& app : report.apps) {
        round.push_back({std::move(app.id), std::move(app.observation), app.at});
    }
    const StateChanges changes = states_.record(round, io_.now());
    if (changes) {
        log_state_changes(changes);
        persist_soon();
    }
    if (changes || report.new_list) send_state();
}

// One journal event per app whose observed value changed (StateTracker's notion of a change), in
// the order of the tracked list.
void Daemon::log_state_changes(const StateChanges& changes) const {
    const std::set<std::string> changed(changes.ids.begin(), changes.ids.end());
    const auto& after = states_.remembered();
    for (const auto& app : tracked_.apps) {
        if (!changed.contains(app.id)) continue;
        auto now = after.find(app.id);
        if (now == after.end()) continue;
        const std::string state = inventory::to_string(now->second.observed);
        log::event(log::Level::info, log::Event::state_changed,
                   "app " + app.id + " is " + state + ": " + now->second.detail,
                   {"", app.id, app::to_string(app.type), state});
    }
}

void Daemon::send_state() {
    const auto now = io_.now();
    link_.send(hub::MessageKind::state,
               hub::make_state_message(states_.report(tracked_.apps, now), now));
    schedule_state_report();
}

// Without a change, the state is reported every state interval all the same.
void Daemon::schedule_state_report() {
    state_timer_.expires_after(state_interval_);
    state_timer_.async_wait([this](beast::error_code ec) {
        if (ec || stopping_) return;
        send_state();
    });
}

// --- inventory ----------------------------------------------------------------------------

void Daemon::schedule_inventory(milliseconds delay) {
    inventory_timer_.expires_after(delay);
    inventory_timer_.async_wait([this](beast::error_code ec) {
        if (ec || stopping_) return;
        collect_inventory();
        schedule_inventory(inventory_interval_);
    });
}

void Daemon::collect_inventory() {
    if (collecting_ || !io_.collect_inventory) return;
    collecting_ = true;
    inventory::CollectRequest request;
    request.settings = setup_.inventory_settings;
    asio::post(collector_, [collect = io_.collect_inventory, request, executor = executor_,
                            alive = std::weak_ptr<int>(alive_), this]() {
        CollectedInventory collected = collect(request);
        asio::post(executor, [alive, this, collected = std::move(collected)]() mutable {
            if (alive.expired()) return;
            on_inventory_collected(std::move(collected));
        });
    });
}

void Daemon::on_inventory_collected(CollectedInventory collected) {
    collecting_ = false;
    inventory_status_.section_errors = std::move(collected.section_errors);
    std::string text = std::move(collected.text);
    if (stopping_ || text.empty()) return;
    inventory_status_.last_sent_at = io_.now();
    log::event(log::Level::info, log::Event::inventory_sent,
               "inventory collected (" + std::to_string(text.size()) + " bytes); sending it");
    link_.send(hub::MessageKind::inventory, hub::make_inventory_message(nullptr, io_.now()),
               hub::PreSerialized{"inventory", std::move(text)});
    // A collection briefly needs a few MiB; give them back to the system rather than keep them
    // in malloc's free lists until the next one in six hours.
    ::malloc_trim(0);
}

bool Daemon::inventory_pending() const {
    for (const auto& message : outbox_.pending()) {
        if (message.kind == hub::MessageKind::inventory) return true;
    }
    return collecting_ || link_.storing(hub::MessageKind::inventory);
}

void Daemon::remember_inventory_acked() {
    disk_.post([setup = setup_]() {
        if (auto recorded = record_inventory_acked(setup); !recorded) {
            log::warning("cannot record the acked inventory: " + recorded.error());
        }
    });
}

// --- actions ------------------------------------------------------------------------------

actions::DeliveryIo Daemon::delivery_io() {
    actions::DeliveryIo dio;
    dio.launcher = io_.launcher;
    dio.disk = &disk_;
    dio.send_result = [this](actions::ActionReport report) { on_action_report(std::move(report)); };
    dio.resend_frame = [this](std::string frame) { link_.resend(std::move(frame)); };
    dio.result_pending = [this](const std::string& jti) { return outbox_.has_action_result(jti); };
    return dio;
}

void Daemon::on_action_report(actions::ActionReport report) {
    remember_action(report);
    // An action changes its app's state (a restarted process app runs under a new pid, which no
    // event announces): look at it again now rather than at the next round.
    if (auto app_id = report.result.find("app_id");
        app_id != report.result.end() && app_id->is_string() && !stopping_) {
        observer_->observe_now(app_id->get<std::string>());
    }
    // monsys-action's signature (result_jws) goes with its result unchanged; the agent's own
    // results have none.
    auto message = hub::make_action_result_message(report.jti, report.reported_by, report.result,
                                                   report.result_jws);
    if (report.reported_by == "monsys-action" && !report.result_text.empty()) {
        // What monsys-action printed goes to the hub byte for byte (its signature covers them).
        link_.send(hub::MessageKind::action_result, std::move(message),
                   hub::PreSerialized{"result", std::move(report.result_text)});
        return;
    }
    link_.send(hub::MessageKind::action_result, std::move(message));
}

void Daemon::remember_action(const actions::ActionReport& report) {
    auto text = [&report](const char* name) {
        auto member = report.result.find(name);
        return member != report.result.end() && member->is_string() ? member->get<std::string>()
                                                                    : std::string();
    };
    recent_actions_.push_back(
        {report.jti, text("app_id"), text("status"), report.reported_by, io_.now()});
    while (recent_actions_.size() > status::max_recent_actions) recent_actions_.pop_front();
}

// --- the status snapshot ------------------------------------------------------------------

StatusSource Daemon::status_source() {
    StatusSource source;
    source.build = [this]() { return status_snapshot(); };
    source.apps_version = [this]() { return status_apps_version(); };
    source.apps = [this]() { return status_apps(); };
    return source;
}

status::Snapshot Daemon::status_snapshot() const {
    status::Snapshot snapshot;
    snapshot.process = io_.self;
    snapshot.version = build_info::version;
    snapshot.started_at = started_at_;
    snapshot.written_at = io_.now();
    snapshot.heartbeat_secs =
        std::max<std::int64_t>(1, std::chrono::ceil<seconds>(timings_.status_heartbeat).count());
    const auto& link = link_.connection_state();
    // The hub URL as configured: it cannot carry credentials (parse_hub_url refuses userinfo).
    snapshot.hub = {setup_.config.hub_url, link.connected, link.since, link.last_error};
    snapshot.last_acked_seq = outbox_.last_acked();
    for (auto kind :
         {hub::MessageKind::inventory, hub::MessageKind::state, hub::MessageKind::action_result}) {
        snapshot.outbox[hub::to_string(kind)] = {};
    }
    for (const hub::PendingMessage& message : outbox_.pending()) {
        auto& kind = snapshot.outbox[hub::to_string(message.kind)];
        ++kind.count;
        if (!kind.oldest_at || message.stored_at < *kind.oldest_at)
            kind.oldest_at = message.stored_at;
    }
    snapshot.actions.assign(recent_actions_.begin(), recent_actions_.end());
    snapshot.inventory = inventory_status_;
    return snapshot;
}

// The states' version covers the list too: replacing it goes through retain_only().
std::optional<std::uint64_t> Daemon::status_apps_version() {
    const std::uint64_t version = states_.version();
    if (version == all_observed_at_version_) return version;
    // An app not observed yet is reported as of now, so its part changes at every tick.
    for (const auto& app : tracked_.apps) {
        if (!states_.remembered().contains(app.id)) return std::nullopt;
    }
    all_observed_at_version_ = version;
    return version;
}

// One entry per tracked app, in the same order.
std::vector<status::AppStatus> Daemon::status_apps() const {
    const auto reports = states_.report(tracked_.apps, io_.now());
    std::vector<status::AppStatus> apps;
    apps.reserve(reports.size());
    for (std::size_t i = 0; i < reports.size() && i < tracked_.apps.size(); ++i) {
        const hub::AppStateReport& app = reports[i];
        apps.push_back({app.id, app::to_string(tracked_.apps[i].type),
                        inventory::to_string(app.observed), app.detail, app.changed_at});
    }
    return apps;
}

// --- the service manager ------------------------------------------------------------------

void Daemon::notify(const std::string& text) const {
    if (io_.notify) io_.notify(text);
}

void Daemon::start_watchdog() {
    if (io_.watchdog_period <= milliseconds(0)) return;
    log::info("systemd watchdog enabled; heartbeat every " +
              std::to_string(io_.watchdog_period.count()) + " ms");
    watchdog_tick();
}

// That the agent is healthy, or why not: the hub link's loop and the observer must both have
// shown life recently. A timer that fires proves only that the reactor runs.
Expected<void, std::string> Daemon::check_healthy() const {
    const auto now = std::chrono::steady_clock::now();
    if (now - link_.last_progress() > timings_.link_stall_limit) {
        return unexpected(std::string("the hub link shows no progress"));
    }
    const auto observer_limit = seconds(setup_.config.observe_interval_secs) +
                                2 * setup_.inventory_settings.source_timeout +
                                timings_.observer_stall_margin;
    if (now - observer_->last_progress() > observer_limit) {
        return unexpected(std::string("the observer completed no observation"));
    }
    return ok();
}

void Daemon::watchdog_tick() {
    // Sent from the reactor thread: a stuck reactor stops the heartbeat, and so does a stuck
    // link loop or observer. While stopping, the shutdown's own bounds apply.
    auto healthy = stopping_ ? Expected<void, std::string>() : check_healthy();
    if (healthy) {
        notify("WATCHDOG=1");
        watchdog_warned_ = false;
    } else if (!watchdog_warned_) {
        log::error("withholding the watchdog heartbeat: " + healthy.error());
        watchdog_warned_ = true;
    }
    watchdog_timer_.expires_after(io_.watchdog_period);
    watchdog_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) watchdog_tick();
    });
}

// --- stopping -----------------------------------------------------------------------------

// The link's loop ended without stop(): nothing would reach the hub any more. Stop, and exit
// non-zero so that systemd starts the agent again.
void Daemon::on_link_died(std::string why) {
    log::error("the hub link stopped unexpectedly: " + why);
    exit_code_ = 1;
    stop("the hub link stopped");
}

void Daemon::stop(const std::string& reason) {
    if (stopping_) return;
    stopping_ = true;
    log::notice(reason + "; finishing " + std::to_string(delivery_.running()) +
                " running action(s)");
    notify("STOPPING=1");
    observer_->stop();
    state_timer_.cancel();
    inventory_timer_.cancel();
    if (persist_pending_) persist_tracked_apps();
    shutdown_timer_.expires_after(timings_.action_grace + timings_.backstop_margin);
    shutdown_timer_.async_wait([this](beast::error_code ec) {
        if (ec) return;
        log::warning("the action runner did not report idle in time; stopping anyway");
        finish_shutdown();
    });
    // After the grace the runner cancels what still runs: those actions are reported as
    // interrupted at the next start.
    delivery_.shut_down(
        [this]() {
            shutdown_timer_.cancel();
            flush_then_stop();
        },
        timings_.action_grace);
}

// Gives the hub a moment to ack what is in the outbox (it stays there either way).
void Daemon::flush_then_stop() {
    flush_deadline_ = std::chrono::steady_clock::now() + timings_.result_flush;
    poll_flush();
}

void Daemon::poll_flush() {
    if (finished_) return;
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
    shutdown_timer_.async_wait([this](beast::error_code ec) {
        if (!ec) poll_flush();
    });
}

void Daemon::finish_shutdown() {
    if (finished_) return;
    finished_ = true;
    link_.stop();
    watchdog_timer_.cancel();
    persist_timer_.cancel();
    status_.stop();
    // The close handshake, bounded; whatever else still waits on the io_context (a source's
    // reconnect back-off) is cancelled when the daemon is destroyed.
    shutdown_timer_.expires_after(timings_.close_wait);
    shutdown_timer_.async_wait([this](beast::error_code ec) {
        if (!ec && on_finished_) on_finished_(exit_code_);
    });
}

}  // namespace monsys::agent::daemon
