#include "agent/observe/observer.hpp"

#include <algorithm>

#include "common/app/identifier.hpp"
#include "common/inventory/process_scan.hpp"

namespace monsys::agent::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_container_app(app::AppType type) {
    return type == app::AppType::docker || type == app::AppType::compose;
}

}  // namespace

bool container_event_matches(const ContainerEvent& event, const ObservedAppSpec& app) {
    if (app.type == app::AppType::docker) {
        const std::string& ref = app.identifier;
        if (ref.empty()) return false;
        if (ref == event.name || ref == event.id) return true;
        // A short id, as `docker ps` prints it (the same rule as inventory::observe_docker).
        return ref.size() >= 12 && is_hex(ref) && event.id.compare(0, ref.size(), ref) == 0;
    }
    if (app.type == app::AppType::compose) {
        auto ref = app::parse_compose_identifier(app.identifier);
        return ref && !event.compose_project.empty() && ref->project == event.compose_project &&
               ref->service == event.compose_service;
    }
    return false;
}

bool may_change_container_state(std::string_view action) {
    // Docker: "exec_create: sh -c probe", "exec_start: ...", "exec_die", "exec_detach"; podman:
    // "exec", "exec_died".
    if (action.substr(0, 4) == "exec") return false;
    static constexpr std::string_view no_change[] = {
        "attach",         "detach", "resize", "top",   "copy",   "archive-path",
        "extract-to-dir", "export", "commit", "mount", "unmount"};
    return std::find(std::begin(no_change), std::end(no_change), action) == std::end(no_change);
}

// One observation under way: which apps it covers, and the sections as the sources answer.
struct Observer::InFlight {
    std::uint64_t generation = 0;
    bool full_round = false;
    bool new_list = false;
    SystemTime started_at;
    std::vector<ObservedAppSpec> apps;
    std::map<std::string, SystemTime> event_at;  // the apps an event asked for
    std::vector<std::string> scanned_paths;
    int parts_left = 0;
    inventory::Inventory inventory;
};

std::shared_ptr<Observer> Observer::create(asio::any_io_executor executor,
                                           ObserverSettings settings, SourceFactories factories,
                                           ReportHandler on_report) {
    auto observer = std::make_shared<Observer>(Private{}, std::move(executor), std::move(settings),
                                               std::move(on_report));
    if (factories.units) observer->units_ = factories.units(observer->make_events());
    if (factories.containers) {
        observer->containers_ = factories.containers(observer->make_events());
    }
    if (factories.processes) observer->processes_ = factories.processes(observer->make_events());
    return observer;
}

Observer::Observer(Private, asio::any_io_executor executor, ObserverSettings settings,
                   ReportHandler on_report)
    : executor_(executor),
      settings_(std::move(settings)),
      on_report_(std::move(on_report)),
      last_completed_(SteadyClock::now()),
      start_timer_(executor),
      round_timer_(executor) {}

Observer::~Observer() { stop(); }

// The sources call back through a weak pointer: an event that arrives after the observer is gone
// is dropped.
SourceEvents Observer::make_events() {
    std::weak_ptr<Observer> weak = weak_from_this();
    SourceEvents events;
    events.unit_changed = [weak](const std::string& unit, SystemTime at) {
        if (auto self = weak.lock()) self->on_unit_changed(unit, at);
    };
    events.units_resync = [weak]() {
        if (auto self = weak.lock()) self->on_units_resync();
    };
    events.container_changed = [weak](const ContainerEvent& event) {
        if (auto self = weak.lock()) self->on_container_changed(event);
    };
    events.containers_resync = [weak]() {
        if (auto self = weak.lock()) self->on_containers_resync();
    };
    events.process_exited = [weak](const std::string& path, int pid, SystemTime at) {
        if (auto self = weak.lock()) self->on_process_exited(path, pid, at);
    };
    return events;
}

void Observer::track(std::vector<ObservedAppSpec> apps) {
    if (stopped_) return;
    apps_ = std::move(apps);
    ++generation_;
    new_list_pending_ = true;
    round_due_ = true;

    std::set<std::string> ids;
    std::set<std::string> unit_names;
    std::set<std::string> paths;
    bool any_container_app = false;
    for (const ObservedAppSpec& app : apps_) {
        ids.insert(app.id);
        if (app.type == app::AppType::systemd) unit_names.insert(app.identifier);
        if (app.type == app::AppType::process) paths.insert(app.identifier);
        any_container_app = any_container_app || is_container_app(app.type);
    }
    std::erase_if(pending_, [&ids](const auto& entry) { return !ids.contains(entry.first); });
    std::erase_if(running_pids_,
                  [&paths](const auto& entry) { return !paths.contains(entry.first); });

    all_unit_names_.assign(unit_names.begin(), unit_names.end());
    if (units_ && settings_.unit_events) units_->watch(all_unit_names_);
    if (containers_ && settings_.container_events) containers_->watch(any_container_app);
    if (processes_ && settings_.process_events) {
        processes_->watch_exits({running_pids_.begin(), running_pids_.end()});
    }
    if (!rounds_started_) {
        rounds_started_ = true;
        arm_round_timer();
    }
    schedule();
}

void Observer::observe_now(const std::string& id) {
    for (const ObservedAppSpec& app : apps_) {
        if (app.id == id) {
            mark(app.id, settings_.now());
            return;
        }
    }
}

void Observer::stop() {
    if (stopped_) return;
    stopped_ = true;
    start_timer_.cancel();
    round_timer_.cancel();
    if (units_) units_->stop();
    if (containers_) containers_->stop();
    if (processes_) processes_->stop();
}

SteadyClock::time_point Observer::last_progress() const { return last_completed_; }

// --- events -------------------------------------------------------------------------------

void Observer::on_unit_changed(const std::string& unit, SystemTime at) {
    for (const ObservedAppSpec& app : apps_) {
        if (app.type == app::AppType::systemd && app.identifier == unit) mark(app.id, at);
    }
}

void Observer::on_units_resync() { mark_all({app::AppType::systemd}, settings_.now()); }

void Observer::on_container_changed(const ContainerEvent& event) {
    if (!may_change_container_state(event.action)) return;
    // An engine without an event time: the time it reached us.
    const SystemTime at = event.at == SystemTime{} ? settings_.now() : event.at;
    for (const ObservedAppSpec& app : apps_) {
        if (container_event_matches(event, app)) mark(app.id, at);
    }
}

void Observer::on_containers_resync() {
    mark_all({app::AppType::docker, app::AppType::compose}, settings_.now());
}

void Observer::on_process_exited(const std::string& path, int pid, SystemTime at) {
    if (auto found = running_pids_.find(path); found != running_pids_.end() && found->second == pid) {
        running_pids_.erase(found);
    }
    for (const ObservedAppSpec& app : apps_) {
        if (app.type == app::AppType::process && app.identifier == path) mark(app.id, at);
    }
}

// The earliest event since the app was last observed is when its state may have changed.
void Observer::mark(const std::string& id, SystemTime at) {
    if (stopped_) return;
    auto [entry, inserted] = pending_.try_emplace(id, at);
    if (!inserted && at < entry->second) entry->second = at;
    if (!first_pending_at_) first_pending_at_ = SteadyClock::now();
    schedule();
}

void Observer::mark_all(std::initializer_list<app::AppType> types, SystemTime at) {
    for (const ObservedAppSpec& app : apps_) {
        if (std::find(types.begin(), types.end(), app.type) != types.end()) mark(app.id, at);
    }
}

// --- scheduling ---------------------------------------------------------------------------

void Observer::arm_round_timer() {
    round_timer_.expires_after(settings_.round_interval);
    std::weak_ptr<Observer> weak = weak_from_this();
    round_timer_.async_wait([weak](beast::error_code ec) {
        auto self = weak.lock();
        if (ec || !self || self->stopped_) return;
        self->round_due_ = true;
        self->schedule();
        self->arm_round_timer();
    });
}

// Starts the next observation once the burst had its window and the last one its gap; with one
// in flight, its completion calls this again.
void Observer::schedule() {
    if (stopped_ || in_flight_ || start_timer_armed_) return;
    if (pending_.empty() && !round_due_) return;
    auto start_at = last_started_ + settings_.min_gap;
    if (first_pending_at_ && !round_due_) {
        start_at = std::max(start_at, *first_pending_at_ + settings_.coalesce);
    }
    start_timer_armed_ = true;
    start_timer_.expires_at(start_at);
    std::weak_ptr<Observer> weak = weak_from_this();
    start_timer_.async_wait([weak](beast::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        self->start_timer_armed_ = false;
        if (!ec) self->start_observation();
    });
}

void Observer::start_observation() {
    if (stopped_ || in_flight_) return;
    auto flight = std::make_shared<InFlight>();
    flight->generation = generation_;
    flight->full_round = round_due_;
    flight->new_list = round_due_ && new_list_pending_;
    flight->started_at = settings_.now();
    flight->event_at = std::move(pending_);
    pending_.clear();
    round_due_ = false;
    first_pending_at_.reset();
    for (const ObservedAppSpec& app : apps_) {
        if (flight->full_round || flight->event_at.contains(app.id)) flight->apps.push_back(app);
    }
    if (flight->apps.empty() && !flight->full_round) return;

    in_flight_ = SteadyClock::now();
    last_started_ = *in_flight_;
    ++observations_started_;

    // A full round asks for every unit, sorted and unique since track(); an event's observation
    // for the few it concerns.
    std::set<std::string> event_unit_names;
    std::set<std::string> paths;
    bool containers_wanted = false;
    bool processes_wanted = false;
    for (const ObservedAppSpec& app : flight->apps) {
        if (app.type == app::AppType::systemd && !flight->full_round) {
            event_unit_names.insert(app.identifier);
        }
        containers_wanted = containers_wanted || is_container_app(app.type);
        if (app.type == app::AppType::process) {
            processes_wanted = true;
            if (!settings_.path_exists || settings_.path_exists(app.identifier)) {
                paths.insert(app.identifier);
            }
        }
    }

    // One part per source asked, plus one held until every request is made, so that a source
    // answering at once cannot complete the observation early.
    flight->parts_left = 1;
    std::weak_ptr<Observer> weak = weak_from_this();
    std::vector<std::string> unit_names =
        flight->full_round
            ? all_unit_names_
            : std::vector<std::string>(event_unit_names.begin(), event_unit_names.end());
    if (!unit_names.empty() && units_) {
        ++flight->parts_left;
        units_->list_units(std::move(unit_names),
                           [weak, flight](inventory::SystemdSection section) {
                               flight->inventory.systemd = std::move(section);
                               if (auto self = weak.lock()) self->finish_part(flight);
                           });
    }
    if (containers_wanted && containers_) {
        ++flight->parts_left;
        containers_->list_containers([weak, flight](inventory::DockerSection section) {
            flight->inventory.docker = std::move(section);
            if (auto self = weak.lock()) self->finish_part(flight);
        });
    }
    if (processes_wanted && processes_) {
        if (paths.empty()) {
            flight->inventory.processes = inventory::ProcessesSection{};  // nothing to scan
        } else {
            ProcessSource::ScanRequest request;
            request.paths.assign(paths.begin(), paths.end());
            for (const std::string& path : request.paths) {
                if (auto last = running_pids_.find(path); last != running_pids_.end()) {
                    request.hint_pids.push_back(last->second);
                }
            }
            flight->scanned_paths = request.paths;
            ++flight->parts_left;
            processes_->scan(std::move(request),
                             [weak, flight](inventory::ProcessesSection section) {
                                 flight->inventory.processes = std::move(section);
                                 if (auto self = weak.lock()) self->finish_part(flight);
                             });
        }
    }
    finish_part(flight);
}

void Observer::finish_part(const std::shared_ptr<InFlight>& flight) {
    if (--flight->parts_left == 0) complete(flight);
}

void Observer::complete(const std::shared_ptr<InFlight>& flight) {
    in_flight_.reset();
    last_completed_ = SteadyClock::now();
    if (stopped_) return;
    if (flight->generation != generation_) {
        // The list changed meanwhile; its own full round is due.
        schedule();
        return;
    }
    update_watched_pids(flight);

    ObservationReport report;
    report.full_round = flight->full_round;
    report.new_list = flight->new_list;
    if (flight->new_list) new_list_pending_ = false;
    report.apps.reserve(flight->apps.size());
    const inventory::InventoryIndex index(flight->inventory);
    for (const ObservedAppSpec& app : flight->apps) {
        AppObservation observed;
        observed.id = app.id;
        observed.observation = index.observe(app.type, app.identifier, settings_.path_exists);
        auto event = flight->event_at.find(app.id);
        observed.from_event = event != flight->event_at.end();
        observed.at = observed.from_event ? event->second : flight->started_at;
        report.apps.push_back(std::move(observed));
    }
    if (on_report_) on_report_(std::move(report));
    schedule();
}

// After a scan: the pid that runs each scanned path is the one to watch (and to look at first
// next time); a path that runs nowhere is found again by a round.
void Observer::update_watched_pids(const std::shared_ptr<InFlight>& flight) {
    if (flight->scanned_paths.empty() || !flight->inventory.processes) return;
    const auto& section = *flight->inventory.processes;
    if (!section.status.ok()) return;  // nothing learned: keep watching what was watched
    for (const std::string& path : flight->scanned_paths) {
        running_pids_.erase(path);
        for (const inventory::Process& process : section.processes) {
            if (inventory::process_runs_path(process, path)) {
                running_pids_.emplace(path, process.pid);
                break;
            }
        }
    }
    if (processes_ && settings_.process_events) {
        processes_->watch_exits({running_pids_.begin(), running_pids_.end()});
    }
}

}  // namespace monsys::agent::observe
