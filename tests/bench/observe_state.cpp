// bench_observe_state: how long observing the state of a few tracked apps takes.
//   bench_observe_state                      the pure mapping over a synthetic large inventory
//   bench_observe_state --bus user|system --docker-socket PATH TYPE:IDENTIFIER...
//                                            also full rounds of the daemon's observer over
//                                            those apps, with the real sources
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include "agent/inventory/settings.hpp"
#include "agent/observe/docker_source.hpp"
#include "agent/observe/observer.hpp"
#include "agent/observe/process_source.hpp"
#include "agent/observe/systemd_source.hpp"
#include "common/inventory/observed_state.hpp"

using namespace monsys::inventory;
using monsys::app::AppType;
using Clock = std::chrono::steady_clock;

namespace {

struct TrackedApp {
    AppType type = AppType::systemd;
    std::string identifier;
};

Inventory synthetic_inventory() {
    Inventory inventory;
    inventory.systemd.emplace();
    for (int i = 0; i < 400; ++i) {
        Unit unit;
        unit.name = "unit-" + std::to_string(i) + ".service";
        unit.load_state = "loaded";
        unit.active_state = i % 3 ? "active" : "inactive";
        unit.sub_state = "running";
        inventory.systemd->units.push_back(unit);
    }
    inventory.docker.emplace();
    for (int i = 0; i < 40; ++i) {
        Container container;
        container.name = "c-" + std::to_string(i);
        container.id = std::string(64, 'a');
        container.state = "running";
        inventory.docker->containers.push_back(container);
    }
    for (int p = 0; p < 5; ++p) {
        inventory.docker->compose_services.push_back(
            ComposeService{"proj" + std::to_string(p), "web", {"a", "b", "c", "d"}, 4});
    }
    inventory.processes.emplace();
    for (int i = 0; i < 1400; ++i) {
        Process process;
        process.pid = i + 1;
        process.exe = "/usr/bin/sleep";
        inventory.processes->processes.push_back(process);
    }
    return inventory;
}

std::vector<TrackedApp> synthetic_apps() {
    return {{AppType::systemd, "unit-10.service"},
            {AppType::systemd, "unit-200.service"},
            {AppType::systemd, "unit-399.service"},
            {AppType::systemd, "missing.service"},
            {AppType::docker, "c-5"},
            {AppType::docker, "c-39"},
            {AppType::compose, "proj1::web"},
            {AppType::compose, "proj4::web"},
            {AppType::process, "/usr/bin/sleep"},
            {AppType::process, "/opt/none"}};
}

double percentile(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(p * values.size()))];
}

void bench_pure() {
    Inventory inventory = synthetic_inventory();
    auto apps = synthetic_apps();
    PathExists exists = [](const std::string&) { return false; };
    constexpr int rounds = 2000;
    std::size_t running = 0;
    auto start = Clock::now();
    for (int round = 0; round < rounds; ++round) {
        for (const auto& tracked : apps) {
            running += observe(inventory, tracked.type, tracked.identifier, exists).state ==
                       AppState::running;
        }
    }
    double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / rounds;
    std::printf(
        "mapping only: 10 apps over 400 units, 40 containers, 1400 processes: %.1f us "
        "(%zu running)\n",
        us, running / rounds);
}

bool parse_app(const char* text, TrackedApp& tracked) {
    const char* colon = std::strchr(text, ':');
    if (!colon) return false;
    auto type = monsys::app::parse_app_type(std::string(text, colon));
    if (!type) return false;
    tracked = {*type, colon + 1};
    return true;
}

// The live path as the daemon runs it: the observer with the real sources (a kept sd-bus
// connection, the async Docker client, the /proc scan on its worker), one full round at a time.
// The first round pays for the connections; the others are the steady state.
void bench_live(const InventorySettings& settings, const std::vector<TrackedApp>& apps) {
    using namespace monsys::agent::observe;
    constexpr int rounds = 30;
    monsys::asio::io_context io;
    auto executor = io.get_executor();
    ObserverSettings observer_settings;
    observer_settings.round_interval = std::chrono::hours(1);
    observer_settings.min_gap = std::chrono::milliseconds(0);
    observer_settings.unit_events = observer_settings.container_events =
        observer_settings.process_events = false;
    observer_settings.path_exists = [](const std::string& path) {
        return ::access(path.c_str(), F_OK) == 0;
    };
    SourceFactories factories;
    factories.units = [executor, bus = settings.bus_settings()](SourceEvents events) {
        return make_systemd_source(executor, bus, std::move(events));
    };
    factories.containers = [executor, docker = settings.docker_settings()](SourceEvents events) {
        return make_docker_source(executor, docker, std::move(events));
    };
    factories.processes = [executor, timeout = settings.source_timeout](SourceEvents events) {
        return make_process_source(executor, "", timeout, std::move(events));
    };
    std::vector<ObservationReport> reports;
    auto observer =
        Observer::create(executor, observer_settings, std::move(factories),
                         [&reports](ObservationReport report) { reports.push_back(report); });
    std::vector<ObservedAppSpec> specs;
    for (std::size_t i = 0; i < apps.size(); ++i) {
        specs.push_back({"app-" + std::to_string(i), apps[i].type, apps[i].identifier});
    }
    auto one_round = [&]() {
        const auto before = reports.size();
        const auto start = Clock::now();
        observer->track(specs);
        while (reports.size() == before) io.run_one_for(std::chrono::seconds(10));
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    };
    const double first = one_round();
    std::vector<double> ms;
    for (int i = 0; i < rounds; ++i) ms.push_back(one_round());
    std::printf("live, %zu apps, first round (connecting):%21s %6.2f ms\n", apps.size(), "", first);
    std::printf("live, %zu apps, %-40s median %6.2f ms, p90 %6.2f ms, max %6.2f ms\n",
                apps.size(), "kept connections, one full round:", percentile(ms, 0.5),
                percentile(ms, 0.9), percentile(ms, 1.0));
    for (const AppObservation& app : reports.back().apps) {
        std::size_t i = std::stoul(app.id.substr(4));
        std::printf("  %-8s %-28s %-8s %s\n", monsys::app::to_string(apps[i].type),
                    apps[i].identifier.c_str(), to_string(app.observation.state),
                    app.observation.detail.c_str());
    }
    observer->stop();
}

}  // namespace

int main(int argc, char** argv) {
    bench_pure();
    InventorySettings settings;
    std::vector<TrackedApp> apps;
    bool live = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--bus" && i + 1 < argc) {
            settings.systemd_bus = std::strcmp(argv[++i], "user") == 0
                                       ? monsys::io::SystemdBusSettings::Kind::user
                                       : monsys::io::SystemdBusSettings::Kind::system;
            live = true;
        } else if (arg == "--docker-socket" && i + 1 < argc) {
            settings.docker_socket = argv[++i];
            live = true;
        } else {
            TrackedApp tracked;
            if (!parse_app(argv[i], tracked)) {
                std::fprintf(stderr, "bench_observe_state: not TYPE:IDENTIFIER: %s\n", argv[i]);
                return 1;
            }
            apps.push_back(tracked);
        }
    }
    if (live && !apps.empty()) bench_live(settings, apps);
    return 0;
}
