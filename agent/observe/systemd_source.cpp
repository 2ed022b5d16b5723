#include "agent/observe/systemd_source.hpp"

#include <chrono>
#include <map>
#include <set>

#include "agent/inventory/systemd_units.hpp"
#include "common/io/systemd/async_bus.hpp"
#include "common/io/systemd/unit_signals.hpp"
#include "common/util/log.hpp"

namespace monsys::agent::observe {

namespace sd = io::systemd;

namespace {

// Up to this many watched units get one PropertiesChanged match each, so the bus daemon sends
// only their signals. Beyond it one match covers every unit path (path_namespace) and the rest
// is filtered here: dbus-daemon's system bus allows only 512 match rules per connection.
constexpr std::size_t kMaxPerUnitMatches = 256;
// More names than this in a list or a watch are cut (and logged): a bound on what the hub's list
// of tracked apps can make this source do.
constexpr std::size_t kMaxUnits = 65536;

const std::string kAllUnitsPropertiesRule =
    std::string("type='signal',sender='") + sd::kSystemdService + "',interface='" +
    sd::kPropertiesInterface + "',member='PropertiesChanged',path_namespace='" +
    sd::kUnitPathPrefix + "'";

}  // namespace

// Everything the bus's callbacks reach, behind a shared_ptr so they hold it by weak_ptr.
class SystemdWatcher : public std::enable_shared_from_this<SystemdWatcher> {
  public:
    SystemdWatcher(asio::any_io_executor executor, io::SystemdBusSettings settings,
                   SourceEvents events)
        : executor_(std::move(executor)), settings_(settings), events_(std::move(events)) {}

    void start();
    void list_units(std::vector<std::string> names,
                    std::function<void(inventory::SystemdSection)> done);
    void watch(std::vector<std::string> names);
    void stop();
    void force_reconnect() {
        if (bus_) bus_->force_reconnect();
    }

  private:
    void on_connected();
    void install_unit_matches();
    void add_unit_match(const std::string& name);
    void on_properties_changed(sd_bus_message* signal);
    void on_unit_listed(sd_bus_message* signal);
    void on_reloading(sd_bus_message* signal);
    void unit_changed(const std::string& name);
    bool per_unit_matches() const { return watched_by_path_.size() <= kMaxPerUnitMatches; }

    // Binds a member function as a signal handler that does nothing once this is gone.
    sd::SignalHandler handler(void (SystemdWatcher::*member)(sd_bus_message*)) {
        return [weak = weak_from_this(), member](sd_bus_message* signal) {
            if (auto self = weak.lock(); self && !self->stopped_) ((*self).*member)(signal);
        };
    }

    asio::any_io_executor executor_;
    io::SystemdBusSettings settings_;
    SourceEvents events_;
    std::shared_ptr<sd::AsyncBus> bus_;
    bool stopped_ = false;

    std::map<std::string, std::string> watched_by_path_;  // object path -> unit name
    std::map<std::string, sd::AsyncMatch> unit_matches_;  // by unit name
    sd::AsyncMatch all_units_match_;                      // when there are too many for one each
    std::vector<sd::AsyncMatch> manager_matches_;
};

void SystemdWatcher::start() {
    bus_ = sd::AsyncBus::create(executor_, settings_, [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && !self->stopped_) self->on_connected();
    });
    bus_->start();
}

void SystemdWatcher::stop() {
    if (stopped_) return;
    stopped_ = true;
    unit_matches_.clear();
    all_units_match_ = sd::AsyncMatch();
    manager_matches_.clear();
    if (bus_) bus_->stop();  // pending list calls complete with an error
}

// Each connection starts with nothing: subscribe, match, then tell the owner to look at every
// unit, since whatever happened while there was no connection went unseen. The matches are
// queued before the owner's next ListUnitsByNames, so the bus daemon has them first.
void SystemdWatcher::on_connected() {
    unit_matches_.clear();
    all_units_match_ = sd::AsyncMatch();
    manager_matches_.clear();

    bus_->call(sd::manager_method("Subscribe"), [](sd::CallResult result) {
        if (!result) log::warning("systemd Subscribe failed: " + sd::describe(result.error()));
    });
    const std::pair<const char*, void (SystemdWatcher::*)(sd_bus_message*)> manager_signals[] = {
        {"UnitNew", &SystemdWatcher::on_unit_listed},
        {"UnitRemoved", &SystemdWatcher::on_unit_listed},
        {"Reloading", &SystemdWatcher::on_reloading},
    };
    for (const auto& [member, on_signal] : manager_signals) {
        auto match = bus_->match_signal(sd::kSystemdService, sd::kManagerPath,
                                        sd::kManagerInterface, member, handler(on_signal));
        if (!match) {
            log::warning(std::string("systemd: cannot match ") + member + ": " +
                         sd::describe(match.error()));
            continue;
        }
        manager_matches_.push_back(std::move(*match));
    }
    install_unit_matches();
    log::info(std::string("systemd: connected to ") + io::to_string(settings_.kind) +
              " bus; watching " + std::to_string(watched_by_path_.size()) + " units");
    if (events_.units_resync) events_.units_resync();
}

void SystemdWatcher::install_unit_matches() {
    if (!bus_ || !bus_->connected()) return;  // on_connected installs them
    if (!per_unit_matches()) {
        unit_matches_.clear();
        if (!all_units_match_) {
            auto match = bus_->add_match(kAllUnitsPropertiesRule,
                                         handler(&SystemdWatcher::on_properties_changed));
            if (match) {
                all_units_match_ = std::move(*match);
            } else {
                log::warning("systemd: cannot match PropertiesChanged: " +
                             sd::describe(match.error()));
            }
        }
        return;
    }
    all_units_match_ = sd::AsyncMatch();
    std::set<std::string> wanted;
    for (const auto& [path, name] : watched_by_path_) wanted.insert(name);
    for (auto it = unit_matches_.begin(); it != unit_matches_.end();) {
        it = wanted.count(it->first) ? std::next(it) : unit_matches_.erase(it);
    }
    for (const std::string& name : wanted) {
        if (!unit_matches_.count(name)) add_unit_match(name);
    }
}

void SystemdWatcher::add_unit_match(const std::string& name) {
    const std::string path = sd::unit_object_path(name);
    if (path.empty()) return;
    auto match =
        bus_->match_signal(sd::kSystemdService, path.c_str(), sd::kPropertiesInterface,
                           "PropertiesChanged", handler(&SystemdWatcher::on_properties_changed));
    if (!match) {
        log::warning("systemd: cannot watch " + name + ": " + sd::describe(match.error()));
        return;
    }
    unit_matches_.emplace(name, std::move(*match));
}

void SystemdWatcher::watch(std::vector<std::string> names) {
    if (stopped_) return;
    if (names.size() > kMaxUnits) {
        log::warning("systemd: watching only the first " + std::to_string(kMaxUnits) + " of " +
                     std::to_string(names.size()) + " units");
        names.resize(kMaxUnits);
    }
    watched_by_path_.clear();
    for (const std::string& name : names) {
        std::string path = sd::unit_object_path(name);
        if (!path.empty()) watched_by_path_.emplace(std::move(path), name);
    }
    install_unit_matches();
}

void SystemdWatcher::unit_changed(const std::string& name) {
    if (events_.unit_changed) events_.unit_changed(name, std::chrono::system_clock::now());
}

void SystemdWatcher::on_properties_changed(sd_bus_message* signal) {
    const char* path = sd_bus_message_get_path(signal);
    if (path == nullptr) return;
    auto watched = watched_by_path_.find(path);
    if (watched == watched_by_path_.end()) return;
    auto change = sd::decode_properties_changed(signal);
    if (!change) {
        // An undecodable change is still a change: let the owner look.
        log::debug("systemd: PropertiesChanged of " + watched->second + ": " +
                   sd::describe(change.error()));
        unit_changed(watched->second);
        return;
    }
    if (sd::changes_unit_state(*change)) unit_changed(watched->second);
}

void SystemdWatcher::on_unit_listed(sd_bus_message* signal) {
    auto listed = sd::decode_unit_new_or_removed(signal);
    if (!listed) return;
    // The path, not the id: an alias is watched under the name it was given.
    auto watched = watched_by_path_.find(listed->path);
    if (watched == watched_by_path_.end()) {
        watched = watched_by_path_.find(sd::unit_object_path(listed->id));
    }
    if (watched != watched_by_path_.end()) unit_changed(watched->second);
}

void SystemdWatcher::on_reloading(sd_bus_message* signal) {
    auto active = sd::decode_reloading(signal);
    if (!active || *active) return;  // a reload starts: wait for its end
    if (events_.units_resync) events_.units_resync();
}

void SystemdWatcher::list_units(std::vector<std::string> names,
                                std::function<void(inventory::SystemdSection)> done) {
    inventory::SystemdSection section;
    section.bus = io::to_string(settings_.kind);
    if (stopped_ || names.empty() || names.size() > kMaxUnits) {
        if (stopped_) section.status.error = "ListUnitsByNames: the systemd source is stopped";
        if (names.size() > kMaxUnits) {
            section.status.error =
                "ListUnitsByNames: more than " + std::to_string(kMaxUnits) + " units asked for";
        }
        asio::post(executor_, [done = std::move(done), section = std::move(section)]() mutable {
            done(std::move(section));
        });
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    // The bus completes this exactly once, after stop() too: it owns the only copy of `done`.
    bus_->call(
        sd::manager_method("ListUnitsByNames"),
        [done = std::move(done), section = std::move(section),
         started](sd::CallResult reply) mutable {
            if (!reply) {
                section.status.error = "ListUnitsByNames: " + sd::describe(reply.error());
            } else if (auto units = inventory::decode_units_by_names(reply->get()); units) {
                section.units = std::move(*units);
            } else {
                section.status.error = units.error();
            }
            section.status.duration_ms = std::chrono::duration<double, std::milli>(
                                             std::chrono::steady_clock::now() - started)
                                             .count();
            done(std::move(section));
        },
        names);
}

SystemdSource::SystemdSource(asio::any_io_executor executor, io::SystemdBusSettings settings,
                             SourceEvents events)
    : watcher_(std::make_shared<SystemdWatcher>(std::move(executor), settings, std::move(events))) {
    watcher_->start();
}

SystemdSource::~SystemdSource() {
    stop();
}

void SystemdSource::list_units(std::vector<std::string> names,
                               std::function<void(inventory::SystemdSection)> done) {
    watcher_->list_units(std::move(names), std::move(done));
}

void SystemdSource::watch(std::vector<std::string> names) {
    watcher_->watch(std::move(names));
}

void SystemdSource::stop() {
    watcher_->stop();
}

void SystemdSource::force_reconnect() {
    watcher_->force_reconnect();
}

std::unique_ptr<UnitSource> make_systemd_source(asio::any_io_executor executor,
                                                io::SystemdBusSettings settings,
                                                SourceEvents events) {
    return std::make_unique<SystemdSource>(std::move(executor), settings, std::move(events));
}

}  // namespace monsys::agent::observe
