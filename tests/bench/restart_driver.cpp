// Calls the restart methods directly, N times, and prints one line per call:
//   <method> <milliseconds> <status>
// then "median <method> <milliseconds>". Used by restart_overhead.sh to compare with the CLIs
// without token verification in the way.
//
//   bench_restart_driver docker SOCKET CONTAINER [N] [SETTLE_MS]
//   bench_restart_driver systemd-user UNIT [N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "action-wrapper/restart/docker_restart.hpp"
#include "action-wrapper/restart/systemd_restart.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int usage() {
    std::fprintf(stderr,
                 "usage: bench_restart_driver docker SOCKET CONTAINER [N] [SETTLE_MS]\n"
                 "       bench_restart_driver systemd-user UNIT [N]\n");
    return 2;
}

template <class Restart>
int measure(const char* method, int n, Restart restart) {
    std::vector<double> times;
    for (int i = 0; i < n; ++i) {
        auto start = Clock::now();
        monsys::action::RestartOutcome outcome = restart();
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        times.push_back(ms);
        std::printf("%s %.1f %s\n", method, ms, monsys::action::to_string(outcome.status));
        if (outcome.status != monsys::action::RestartStatus::succeeded) {
            std::fprintf(stderr, "%s: %s\n", method, outcome.stderr_output.text.c_str());
            return 1;
        }
    }
    std::sort(times.begin(), times.end());
    std::printf("median %s %.1f\n", method, times[times.size() / 2]);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return usage();
    std::string mode = argv[1];
    if (mode == "docker" && argc >= 4) {
        monsys::io::DockerSettings docker;
        docker.socket_path = argv[2];
        std::string container = argv[3];
        int n = argc > 4 ? std::atoi(argv[4]) : 1;
        monsys::action::DockerRestartOptions options;
        if (argc > 5) options.settle = std::chrono::milliseconds(std::atoi(argv[5]));
        return measure("docker", std::max(n, 1), [&] {
            return monsys::action::restart_docker_container(docker, container, 120s, options);
        });
    }
    if (mode == "systemd-user") {
        monsys::io::SystemdBusSettings bus;
        bus.kind = monsys::io::SystemdBusSettings::Kind::user;
        std::string unit = argv[2];
        int n = argc > 3 ? std::atoi(argv[3]) : 1;
        return measure("systemd", std::max(n, 1),
                       [&] { return monsys::action::restart_systemd_unit(bus, unit, 120s); });
    }
    return usage();
}
