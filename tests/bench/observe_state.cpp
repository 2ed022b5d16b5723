// bench_observe_state: how long observing the state of a few tracked apps takes.
//   bench_observe_state                      the pure mapping over a synthetic large inventory
//   bench_observe_state --bus user|system --docker-socket PATH TYPE:IDENTIFIER...
//                                            also the targeted live observation of those apps
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "agent/inventory/observe.hpp"
#include "common/inventory/observed_state.hpp"

using namespace monsys::inventory;
using monsys::app::AppType;
using Clock = std::chrono::steady_clock;

namespace {

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

void bench_live(const InventorySettings& settings, const std::vector<TrackedApp>& apps) {
    constexpr int rounds = 30;
    monsys::io::SystemdBusSettings bus_settings;
    bus_settings.kind = settings.systemd_bus;
    auto bus = monsys::io::systemd::Bus::open(bus_settings);
    monsys::io::DockerSettings docker_settings;
    docker_settings.socket_path = settings.docker_socket;
    monsys::io::docker::DockerClient docker(docker_settings);
    for (int fresh = 0; fresh < 2; ++fresh) {
        std::vector<double> times;
        std::vector<Observation> last;
        for (int round = 0; round < rounds; ++round) {
            auto start = Clock::now();
            ObservationHandles handles;
            if (!fresh && bus) handles = {&*bus, &docker};
            last = observe_apps(settings, apps, handles);
            times.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        }
        std::printf(
            "live, %zu apps, %s bus connection and Docker client: median %.2f ms, p90 %.2f ms, max "
            "%.2f ms\n",
            apps.size(), fresh ? "a new" : "a persistent", percentile(times, 0.5),
            percentile(times, 0.9), percentile(times, 1.0));
        if (fresh) {
            for (std::size_t i = 0; i < apps.size(); ++i) {
                std::printf("  %-8s %-28s %-8s %s\n", monsys::app::to_string(apps[i].type),
                            apps[i].identifier.c_str(), to_string(last[i].state),
                            last[i].detail.c_str());
            }
        }
    }
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
