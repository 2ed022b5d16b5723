// The observer driven by fake sources on a real io_context with short timers: what an event turns
// into, what it leaves alone, and how a flood is bounded.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>

#include "agent/daemon/state_tracker.hpp"
#include "agent/observe/observer.hpp"

using namespace monsys;
using namespace monsys::agent::observe;
using namespace std::chrono_literals;
using monsys::app::AppType;
using monsys::inventory::AppState;

namespace {

const SystemTime t0{std::chrono::milliseconds(1795857243120)};

// What the fakes answer and what they were asked, shared with the test.
struct FakeWorld {
    std::map<std::string, std::string> unit_active;  // unit name -> ActiveState
    std::vector<std::vector<std::string>> unit_lists;
    std::vector<std::vector<std::string>> unit_watches;
    std::vector<inventory::Container> containers;
    int container_lists = 0;
    std::vector<bool> container_watches;
    std::map<std::string, int> process_pids;  // path -> pid running it
    std::vector<ProcessSource::ScanRequest> scans;
    std::vector<std::vector<std::pair<std::string, int>>> exit_watches;
    SourceEvents unit_events, container_events, process_events;
};

class FakeUnits final : public UnitSource {
  public:
    FakeUnits(asio::any_io_executor executor, std::shared_ptr<FakeWorld> world)
        : executor_(executor), world_(world) {}
    void list_units(std::vector<std::string> names,
                    std::function<void(inventory::SystemdSection)> done) override {
        world_->unit_lists.push_back(names);
        inventory::SystemdSection section;
        for (const auto& name : names) {
            auto found = world_->unit_active.find(name);
            if (found == world_->unit_active.end()) continue;
            inventory::Unit unit;
            unit.name = name;
            unit.load_state = "loaded";
            unit.active_state = found->second;
            unit.sub_state = found->second == "active" ? "running" : "dead";
            section.units.push_back(unit);
        }
        asio::post(executor_, [done, section]() { done(section); });
    }
    void watch(std::vector<std::string> names) override { world_->unit_watches.push_back(names); }
    void stop() override {}

  private:
    asio::any_io_executor executor_;
    std::shared_ptr<FakeWorld> world_;
};

class FakeContainers final : public ContainerSource {
  public:
    FakeContainers(asio::any_io_executor executor, std::shared_ptr<FakeWorld> world)
        : executor_(executor), world_(world) {}
    void list_containers(std::function<void(inventory::DockerSection)> done) override {
        ++world_->container_lists;
        inventory::DockerSection section;
        section.containers = world_->containers;
        std::map<std::string, inventory::ComposeService> services;
        for (const auto& container : world_->containers) {
            auto project = container.labels.find("com.docker.compose.project");
            auto service = container.labels.find("com.docker.compose.service");
            if (project == container.labels.end() || service == container.labels.end()) continue;
            auto& entry = services[project->second + "::" + service->second];
            entry.project = project->second;
            entry.service = service->second;
            entry.containers.push_back(container.name);
            if (container.state == "running") ++entry.running;
        }
        for (auto& [key, service] : services) section.compose_services.push_back(service);
        asio::post(executor_, [done, section]() { done(section); });
    }
    void watch(bool on) override { world_->container_watches.push_back(on); }
    void stop() override {}

  private:
    asio::any_io_executor executor_;
    std::shared_ptr<FakeWorld> world_;
};

class FakeProcesses final : public ProcessSource {
  public:
    FakeProcesses(asio::any_io_executor executor, std::shared_ptr<FakeWorld> world)
        : executor_(executor), world_(world) {}
    void scan(ScanRequest request,
              std::function<void(inventory::ProcessesSection)> done) override {
        world_->scans.push_back(request);
        inventory::ProcessesSection section;
        for (const auto& path : request.paths) {
            auto found = world_->process_pids.find(path);
            if (found == world_->process_pids.end()) continue;
            inventory::Process process;
            process.pid = found->second;
            process.exe = path;
            process.identity = inventory::ProcessIdentity::exe;
            section.processes.push_back(process);
        }
        asio::post(executor_, [done, section]() { done(section); });
    }
    void watch_exits(std::vector<std::pair<std::string, int>> running) override {
        world_->exit_watches.push_back(running);
    }
    void stop() override {}

  private:
    asio::any_io_executor executor_;
    std::shared_ptr<FakeWorld> world_;
};

inventory::Container container(std::string name, std::string id, std::string state,
                               std::string project = "", std::string service = "") {
    inventory::Container c;
    c.name = std::move(name);
    c.id = std::move(id);
    c.state = std::move(state);
    c.status = c.state;
    if (!project.empty()) {
        c.labels["com.docker.compose.project"] = project;
        c.labels["com.docker.compose.service"] = service;
    }
    return c;
}

ObserverSettings fast_settings() {
    ObserverSettings settings;
    settings.round_interval = 3600s;  // no round interferes unless a test asks for one
    settings.coalesce = 2ms;
    settings.min_gap = 20ms;
    settings.path_exists = [](const std::string&) { return true; };
    settings.now = [] { return t0; };
    return settings;
}

struct Harness {
    explicit Harness(ObserverSettings settings = fast_settings()) {
        SourceFactories factories;
        auto executor = io.get_executor();
        auto shared = world;
        factories.units = [executor, shared](SourceEvents events) {
            shared->unit_events = events;
            return std::make_unique<FakeUnits>(executor, shared);
        };
        factories.containers = [executor, shared](SourceEvents events) {
            shared->container_events = events;
            return std::make_unique<FakeContainers>(executor, shared);
        };
        factories.processes = [executor, shared](SourceEvents events) {
            shared->process_events = events;
            return std::make_unique<FakeProcesses>(executor, shared);
        };
        observer = Observer::create(io.get_executor(), std::move(settings), std::move(factories),
                                    [this](ObservationReport report) {
                                        reports.push_back(std::move(report));
                                    });
    }

    // Runs the io_context until `done` holds or `limit` passes.
    template <class Predicate>
    bool run_until(Predicate done, std::chrono::milliseconds limit = 2000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_for(2ms);
        }
        return done();
    }
    void settle(std::chrono::milliseconds quiet = 100ms) {
        io.restart();
        io.run_for(quiet);
    }
    void track_and_settle(std::vector<ObservedAppSpec> apps) {
        std::size_t before = reports.size();
        observer->track(std::move(apps));
        REQUIRE(run_until([this, before] { return reports.size() > before; }));
        REQUIRE(reports.back().new_list);
        settle(50ms);
    }

    asio::io_context io;
    std::shared_ptr<FakeWorld> world = std::make_shared<FakeWorld>();
    std::vector<ObservationReport> reports;
    std::shared_ptr<Observer> observer;
};

const AppObservation* find_app(const ObservationReport& report, const std::string& id) {
    for (const auto& app : report.apps) {
        if (app.id == id) return &app;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("observer: an event for a tracked unit is observed again and becomes a state change") {
    Harness h;
    h.world->unit_active = {{"web.service", "active"}, {"db.service", "active"}};
    h.track_and_settle({{"web", AppType::systemd, "web.service"},
                        {"db", AppType::systemd, "db.service"}});
    REQUIRE(h.reports.size() == 1);
    CHECK(h.reports[0].full_round);
    CHECK(find_app(h.reports[0], "web")->observation.state == AppState::running);
    REQUIRE_FALSE(h.world->unit_watches.empty());
    CHECK(h.world->unit_watches.back() == std::vector<std::string>{"db.service", "web.service"});

    agent::daemon::StateTracker tracker;
    auto record = [&tracker](const ObservationReport& report) {
        std::vector<agent::daemon::ObservedApp> round;
        for (const auto& app : report.apps) round.push_back({app.id, app.observation, app.at});
        return tracker.record(round, t0 + 2h);
    };
    CHECK_FALSE(record(h.reports[0]));

    h.world->unit_active["web.service"] = "inactive";
    h.world->unit_events.unit_changed("web.service", t0 + 5s);
    REQUIRE(h.run_until([&h] { return h.reports.size() == 2; }));
    const ObservationReport& report = h.reports[1];
    CHECK_FALSE(report.full_round);
    // Only the unit concerned, and only the source it needs.
    REQUIRE(report.apps.size() == 1);
    CHECK(report.apps[0].id == "web");
    CHECK(report.apps[0].observation.state == AppState::stopped);
    CHECK(report.apps[0].from_event);
    CHECK(report.apps[0].at == t0 + 5s);
    CHECK(h.world->unit_lists.back() == std::vector<std::string>{"web.service"});

    CHECK(record(report));
    CHECK(tracker.remembered().at("web").changed_at == t0 + 5s);
    CHECK(tracker.remembered().at("db").observed == AppState::running);
}

TEST_CASE("observer: an event for a unit that is not tracked starts nothing") {
    Harness h;
    h.world->unit_active = {{"web.service", "active"}};
    h.track_and_settle({{"web", AppType::systemd, "web.service"}});
    const auto started = h.observer->observations_started();
    h.world->unit_events.unit_changed("other.service", t0 + 5s);
    h.world->container_events.container_changed(
        ContainerEvent{"abc", "other", "", "", "die", t0 + 5s});
    h.world->process_events.process_exited("/usr/bin/other", 7, t0 + 5s);
    h.settle(150ms);
    CHECK(h.observer->observations_started() == started);
    CHECK(h.reports.size() == 1);
}

TEST_CASE("observer: a resync observes every app of its kind (after a bus reconnect)") {
    Harness h;
    h.world->unit_active = {{"a.service", "active"}, {"b.service", "active"}};
    h.world->containers = {container("web1", std::string(64, 'a'), "running")};
    h.track_and_settle({{"a", AppType::systemd, "a.service"},
                        {"b", AppType::systemd, "b.service"},
                        {"web", AppType::docker, "web1"}});
    const int lists_before = h.world->container_lists;

    // The bus went away; meanwhile b stopped. The source reconnects and asks for a resync.
    h.world->unit_active["b.service"] = "failed";
    h.world->unit_events.units_resync();
    REQUIRE(h.run_until([&h] { return h.reports.size() == 2; }));
    const ObservationReport& report = h.reports[1];
    REQUIRE(report.apps.size() == 2);
    CHECK(find_app(report, "a")->observation.state == AppState::running);
    CHECK(find_app(report, "b")->observation.state == AppState::stopped);
    CHECK(find_app(report, "b")->from_event);
    CHECK(find_app(report, "web") == nullptr);
    CHECK(h.world->unit_lists.back() == std::vector<std::string>{"a.service", "b.service"});
    CHECK(h.world->container_lists == lists_before);

    h.world->containers[0].state = "exited";
    h.world->container_events.containers_resync();
    REQUIRE(h.run_until([&h] { return h.reports.size() == 3; }));
    REQUIRE(h.reports[2].apps.size() == 1);
    CHECK(h.reports[2].apps[0].observation.state == AppState::stopped);
}

TEST_CASE("observer: a flood of events gives a bounded number of observations and ends with the "
          "latest state") {
    Harness h;
    h.world->unit_active = {{"loop.service", "active"}};
    h.track_and_settle({{"loop", AppType::systemd, "loop.service"}});
    const auto started_before = h.observer->observations_started();

    // 1000 events, one a millisecond or so, while the unit flaps; it ends stopped.
    asio::steady_timer pacer(h.io);
    int sent = 0;
    std::function<void()> next = [&]() {
        h.world->unit_active["loop.service"] = sent % 2 ? "active" : "activating";
        h.world->unit_events.unit_changed("loop.service", t0 + std::chrono::milliseconds(sent));
        if (++sent == 1000) {
            h.world->unit_active["loop.service"] = "failed";
            h.world->unit_events.unit_changed("loop.service", t0 + 10s);
            return;
        }
        pacer.expires_after(1ms);
        pacer.async_wait([&next](beast::error_code ec) {
            if (!ec) next();
        });
    };
    const auto flood_start = std::chrono::steady_clock::now();
    next();
    REQUIRE(h.run_until([&sent] { return sent == 1000; }, 20000ms));
    const auto flood_time = std::chrono::steady_clock::now() - flood_start;
    // The observation after the last event reports it; then nothing is left pending.
    REQUIRE(h.run_until(
        [&h] {
            return !h.observer->in_flight() && !h.reports.empty() &&
                   h.reports.back().apps.at(0).observation.state == AppState::stopped;
        },
        5000ms));
    h.settle(200ms);

    const auto observations = h.observer->observations_started() - started_before;
    // At most one observation per min_gap (20 ms) of the flood, plus the one after the last event.
    const auto bound = flood_time / 20ms + 2;
    MESSAGE("1000 events over " << std::chrono::duration_cast<std::chrono::milliseconds>(flood_time)
                                           .count()
                                << " ms gave " << observations << " observations");
    CHECK(observations <= static_cast<std::uint64_t>(bound));
    CHECK(observations < 1000);  // fewer than the events, however slowly the flood came
    CHECK(observations >= 1);
    const AppObservation& last = h.reports.back().apps.at(0);
    CHECK(last.observation.state == AppState::stopped);
    // The earliest event since the observation before: within the flood's last stretch.
    CHECK(last.at >= t0 + 500ms);
    CHECK(last.at <= t0 + 999ms);
    CHECK_FALSE(h.observer->in_flight());
}

TEST_CASE("observer: container events match docker apps by name and id, compose apps by labels") {
    Harness h;
    const std::string id1 = "0123456789ab" + std::string(52, 'c');
    const std::string id2 = "fedcba987654" + std::string(52, 'd');
    h.world->containers = {container("web1", id1, "running"), container("db1", id2, "running"),
                           container("shop-api-1", std::string(64, 'e'), "running", "shop", "api")};
    h.track_and_settle({{"web", AppType::docker, "web1"},
                        {"db", AppType::docker, id2.substr(0, 12)},
                        {"api", AppType::compose, "shop::api"}});
    REQUIRE(h.world->container_watches.back());

    auto event_and_wait = [&h](ContainerEvent event) {
        const auto before = h.reports.size();
        h.world->container_events.container_changed(event);
        REQUIRE(h.run_until([&h, before] { return h.reports.size() == before + 1; }));
        h.settle(30ms);
        return h.reports.back();
    };

    SUBCASE("by name") {
        h.world->containers[0].state = "exited";
        auto report = event_and_wait({id1, "web1", "", "", "die", t0 + 3s});
        REQUIRE(report.apps.size() == 1);
        CHECK(report.apps[0].id == "web");
        CHECK(report.apps[0].observation.state == AppState::stopped);
        CHECK(report.apps[0].at == t0 + 3s);
    }
    SUBCASE("by id: an app tracked by its short id, an event with the full id and no name") {
        h.world->containers[1].state = "exited";
        auto report = event_and_wait({id2, "", "", "", "die", t0 + 4s});
        REQUIRE(report.apps.size() == 1);
        CHECK(report.apps[0].id == "db");
        CHECK(report.apps[0].observation.state == AppState::stopped);
    }
    SUBCASE("by compose labels") {
        h.world->containers[2].state = "exited";
        auto report = event_and_wait({std::string(64, 'e'), "renamed", "shop", "api", "die", {}});
        REQUIRE(report.apps.size() == 1);
        CHECK(report.apps[0].id == "api");
        CHECK(report.apps[0].observation.state == AppState::stopped);
        // An engine without an event time: the time the event reached the agent.
        CHECK(report.apps[0].at == t0);
    }
}

TEST_CASE("observer: an exec in a tracked container (a health probe) starts nothing; a die does") {
    Harness h;
    const std::string id = "0123456789ab" + std::string(52, 'c');
    h.world->containers = {container("web1", id, "running")};
    h.track_and_settle({{"web", AppType::docker, "web1"}});
    const auto started = h.observer->observations_started();
    const int lists = h.world->container_lists;

    // Docker's three events for one health probe, and a resize of an attached terminal.
    for (const char* action : {"exec_create: /bin/sh -c curl -f localhost",
                               "exec_start: /bin/sh -c curl -f localhost",
                               "exec_die", "resize"}) {
        h.world->container_events.container_changed({id, "web1", "", "", action, t0 + 2s});
    }
    h.settle(150ms);
    CHECK(h.observer->observations_started() == started);
    CHECK(h.world->container_lists == lists);

    // The container dies after the probe: its change is dated by the die, not by the probe.
    h.world->containers[0].state = "exited";
    h.world->container_events.container_changed({id, "web1", "", "", "exec_die", t0 + 3s});
    h.world->container_events.container_changed({id, "web1", "", "", "die", t0 + 4s});
    REQUIRE(h.run_until([&h] { return h.reports.size() == 2; }));
    REQUIRE(h.reports[1].apps.size() == 1);
    CHECK(h.reports[1].apps[0].observation.state == AppState::stopped);
    CHECK(h.reports[1].apps[0].at == t0 + 4s);
}

TEST_CASE("observer: which container actions may change what is observed") {
    for (const char* action :
         {"exec_create: sh -c probe", "exec_start: sh -c probe", "exec_die", "exec_detach", "exec",
          "exec_died", "attach", "detach", "resize", "top", "copy", "archive-path",
          "extract-to-dir", "export", "commit", "mount", "unmount"}) {
        CAPTURE(action);
        CHECK_FALSE(may_change_container_state(action));
    }
    for (const char* action : {"create",        "start",   "restart",
                               "die",           "died",    "kill",
                               "stop",          "pause",   "unpause",
                               "oom",           "destroy", "remove",
                               "rename",        "update",  "health_status: unhealthy",
                               "health_status", "cleanup", "init",
                               "checkpoint",    "restore", "",
                               "something-new"}) {
        CAPTURE(action);
        CHECK(may_change_container_state(action));
    }
}

TEST_CASE("observer: container_event_matches") {
    const std::string id = "0123456789ab" + std::string(52, 'c');
    ContainerEvent event{id, "web1", "shop", "api", "die", t0};
    CHECK(container_event_matches(event, {"x", AppType::docker, "web1"}));
    CHECK(container_event_matches(event, {"x", AppType::docker, id}));
    CHECK(container_event_matches(event, {"x", AppType::docker, "0123456789ab"}));
    CHECK_FALSE(container_event_matches(event, {"x", AppType::docker, "0123456789"}));  // too short
    CHECK_FALSE(container_event_matches(event, {"x", AppType::docker, "web"}));
    CHECK(container_event_matches(event, {"x", AppType::compose, "shop::api"}));
    CHECK_FALSE(container_event_matches(event, {"x", AppType::compose, "shop::web"}));
    CHECK_FALSE(container_event_matches(event, {"x", AppType::systemd, "web1"}));
    ContainerEvent unlabelled{id, "api", "", "", "die", t0};
    CHECK_FALSE(container_event_matches(unlabelled, {"x", AppType::compose, "shop::api"}));
}

TEST_CASE("observer: a process app's pid is watched, and its exit is observed at once") {
    Harness h;
    h.world->process_pids = {{"/usr/bin/app", 42}};
    h.track_and_settle({{"app", AppType::process, "/usr/bin/app"}});
    CHECK(find_app(h.reports[0], "app")->observation.state == AppState::running);
    REQUIRE_FALSE(h.world->exit_watches.empty());
    CHECK(h.world->exit_watches.back() ==
          std::vector<std::pair<std::string, int>>{{"/usr/bin/app", 42}});

    h.world->process_pids.clear();
    h.world->process_events.process_exited("/usr/bin/app", 42, t0 + 7s);
    REQUIRE(h.run_until([&h] { return h.reports.size() == 2; }));
    const AppObservation& app = h.reports[1].apps.at(0);
    CHECK(app.observation.state == AppState::stopped);
    CHECK(app.at == t0 + 7s);
    // The scan looked at the pid that ran it, and nothing is watched any more.
    CHECK(h.world->scans.back().paths == std::vector<std::string>{"/usr/bin/app"});
    CHECK(h.world->exit_watches.back().empty());
}

TEST_CASE("observer: a round finds a process app that started, and watches its new pid") {
    ObserverSettings settings = fast_settings();
    settings.round_interval = 150ms;
    Harness h(settings);
    h.track_and_settle({{"app", AppType::process, "/usr/bin/app"}});
    CHECK(find_app(h.reports[0], "app")->observation.state == AppState::stopped);
    h.world->process_pids = {{"/usr/bin/app", 99}};
    REQUIRE(h.run_until([&h] {
        return h.reports.back().full_round && !h.reports.back().new_list &&
               h.reports.back().apps.at(0).observation.state == AppState::running;
    }));
    CHECK(h.world->exit_watches.back() ==
          std::vector<std::pair<std::string, int>>{{"/usr/bin/app", 99}});
    // The next scan looks at that pid first.
    REQUIRE(h.run_until([&h] { return h.world->scans.back().hint_pids == std::vector<int>{99}; }));
}

TEST_CASE("observer: track() replaces the list and what the sources watch") {
    Harness h;
    h.world->unit_active = {{"a.service", "active"}, {"b.service", "active"}};
    h.world->containers = {container("web1", std::string(64, 'a'), "running")};
    h.track_and_settle({{"a", AppType::systemd, "a.service"}, {"web", AppType::docker, "web1"}});
    CHECK(h.world->container_watches.back());

    h.track_and_settle({{"b", AppType::systemd, "b.service"}});
    CHECK(h.world->unit_watches.back() == std::vector<std::string>{"b.service"});
    CHECK_FALSE(h.world->container_watches.back());  // no container app: the stream closes
    const ObservationReport& report = h.reports.back();
    CHECK(report.new_list);
    REQUIRE(report.apps.size() == 1);
    CHECK(report.apps[0].id == "b");

    // The old app's events no longer count.
    const auto started = h.observer->observations_started();
    h.world->unit_events.unit_changed("a.service", t0 + 1s);
    h.settle(100ms);
    CHECK(h.observer->observations_started() == started);
}

TEST_CASE("observer: with events off, the sources are not asked to watch") {
    ObserverSettings settings = fast_settings();
    settings.unit_events = false;
    settings.container_events = false;
    settings.process_events = false;
    Harness h(settings);
    h.world->unit_active = {{"a.service", "active"}};
    h.world->process_pids = {{"/usr/bin/app", 42}};
    h.track_and_settle({{"a", AppType::systemd, "a.service"},
                        {"web", AppType::docker, "web1"},
                        {"app", AppType::process, "/usr/bin/app"}});
    CHECK(h.world->unit_watches.empty());
    CHECK(h.world->container_watches.empty());
    CHECK(h.world->exit_watches.empty());
    CHECK(find_app(h.reports[0], "web")->observation.state == AppState::unknown);
}

TEST_CASE("observer: stop() ends everything; no report follows") {
    Harness h;
    h.world->unit_active = {{"a.service", "active"}};
    h.track_and_settle({{"a", AppType::systemd, "a.service"}});
    h.world->unit_events.unit_changed("a.service", t0 + 1s);
    h.observer->stop();
    h.settle(100ms);
    CHECK(h.reports.size() == 1);
}

TEST_CASE("observer: observe_now() looks at one tracked app again (after an action on it)") {
    Harness h;
    h.world->process_pids = {{"/usr/bin/app", 42}};
    h.track_and_settle({{"app", AppType::process, "/usr/bin/app"}});
    h.world->process_pids = {{"/usr/bin/app", 43}};  // restarted: a new pid, no event
    h.observer->observe_now("app");
    h.observer->observe_now("not-tracked");
    REQUIRE(h.run_until([&h] { return h.reports.size() == 2; }));
    CHECK(h.reports[1].apps.at(0).observation.detail == "pid 43");
    CHECK(h.world->exit_watches.back() ==
          std::vector<std::pair<std::string, int>>{{"/usr/bin/app", 43}});
}
