// bench_observe_state: how long observing the state of a few tracked apps takes.
//   bench_observe_state                      the pure mapping over a synthetic large inventory
//   bench_observe_state --bus user|system --docker-socket PATH TYPE:IDENTIFIER...
//                                            also the targeted live observation of those apps
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
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

struct Timings {
    std::vector<double> ms;
    std::size_t reused = 0;
};

void print(const char* label, std::size_t apps, const Timings& timings) {
    std::printf("live, %zu apps, %-58s median %6.2f ms, p90 %6.2f ms, max %6.2f ms", apps, label,
                percentile(timings.ms, 0.5), percentile(timings.ms, 0.9),
                percentile(timings.ms, 1.0));
    if (timings.reused > 0) std::printf(" (list reused in %zu rounds)", timings.reused);
    std::printf("\n");
}

template <class Round>
Timings time_rounds(int rounds, Round round) {
    Timings timings;
    for (int i = 0; i < rounds; ++i) {
        auto start = Clock::now();
        timings.reused += round() ? 1 : 0;
        timings.ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    return timings;
}

// Three ways, same apps, same run: fresh connections every round (what a one-shot caller does);
// the daemon's observer when the container list must be made (the first round after a container
// event); the daemon's observer while the engine reports no event (the steady state).
void bench_live(const InventorySettings& settings, const std::vector<TrackedApp>& apps) {
    constexpr int rounds = 30;
    std::vector<Observation> last;
    auto fresh = time_rounds(rounds, [&] {
        last = observe_apps(settings, apps);
        return false;
    });
    print("fresh bus connection and Docker client each round:", apps.size(), fresh);
    for (std::size_t i = 0; i < apps.size(); ++i) {
        std::printf("  %-8s %-28s %-8s %s\n", monsys::app::to_string(apps[i].type),
                    apps[i].identifier.c_str(), to_string(last[i].state), last[i].detail.c_str());
    }

    AppObserver listing(settings);  // no event watch: the container list is made every round
    listing.observe(apps);
    auto relisting = time_rounds(rounds, [&] {
        listing.observe(apps);
        return listing.last_round_reused_container_list();
    });
    print("kept bus connection, container list made (after an event):", apps.size(), relisting);

    monsys::asio::io_context io;
    auto guard = monsys::asio::make_work_guard(io);
    std::thread io_thread([&io] { io.run(); });
    {
        AppObserver watching(settings, io.get_executor());
        watching.observe(apps);                                        // starts the event watch
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // podman: live after 1 s
        watching.observe(apps);  // the list that later rounds reuse
        auto steady = time_rounds(rounds, [&] {
            watching.observe(apps);
            return watching.last_round_reused_container_list();
        });
        print("kept bus connection, no container event since the last list:", apps.size(), steady);
    }
    guard.reset();
    io.stop();
    io_thread.join();
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
