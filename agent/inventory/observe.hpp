#pragma once
// The observed state of a few tracked apps without a full inventory: only the sources their types
// need, and only the narrowest query each (ListUnitsByNames for the named units, the container
// list, a /proc path scan, common/inventory/process_scan, that stops once every wanted path has
// been seen).
//
// AppObserver is for a caller that observes round after round (the daemon): it keeps the bus
// connection open between rounds, looks first at the pid that ran a process app last round, and
// with an executor to run a container event watch on, reuses
// its last container list for as long as the engine reports no container event (and at most
// max_container_list_age). observe_apps() is one round with fresh connections.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/inventory/settings.hpp"
#include "common/app/app.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/io/asio.hpp"
#include "common/io/docker/container_event_watch.hpp"
#include "common/io/docker/docker_client.hpp"
#include "common/io/systemd/bus.hpp"

namespace monsys::inventory {

struct TrackedApp {
    app::AppType type = app::AppType::systemd;
    std::string identifier;
};

// A container list reused after this long is made again even if the event stream stayed silent
// (a missed event heals within it).
inline constexpr std::chrono::seconds max_container_list_age{60};

// Whether a container list made when the event stream was at `listed_generation` (and live), `age`
// ago, still stands for the engine now.
bool container_list_still_valid(std::uint64_t listed_generation,
                                std::chrono::steady_clock::duration age,
                                const io::docker::EventStreamSnapshot& now,
                                std::chrono::steady_clock::duration max_age);

class AppObserver {
  public:
    // Without an executor the container list is made every round.
    explicit AppObserver(InventorySettings settings,
                         std::optional<asio::any_io_executor> watch_executor = std::nullopt);
    ~AppObserver();
    AppObserver(const AppObserver&) = delete;
    AppObserver& operator=(const AppObserver&) = delete;

    // One round. Not thread-safe: one thread at a time.
    std::vector<Observation> observe(const std::vector<TrackedApp>& apps);

    // How the last round got its container list (for the benchmark and the debug log).
    bool last_round_reused_container_list() const { return reused_container_list_; }

  private:
    struct ContainerList {
        DockerSection section;
        std::uint64_t generation = 0;
        std::chrono::steady_clock::time_point listed_at;
    };

    SystemdSection observe_units(const std::vector<TrackedApp>& apps);
    DockerSection observe_containers();
    ProcessesSection observe_processes(const std::vector<TrackedApp>& apps,
                                       std::chrono::steady_clock::time_point deadline);

    InventorySettings settings_;
    std::optional<asio::any_io_executor> watch_executor_;
    std::shared_ptr<io::docker::ContainerEventWatch> watch_;  // started with the first docker app
    std::optional<io::systemd::Bus> bus_;                     // reopened after a failed call
    std::optional<io::docker::DockerClient> docker_;          // renegotiates after a failure
    std::optional<ContainerList> containers_;
    std::map<std::string, int> last_pids_;  // process app path -> the pid that ran it last round
    bool reused_container_list_ = false;
};

std::vector<Observation> observe_apps(const InventorySettings& settings,
                                      const std::vector<TrackedApp>& apps);

bool host_path_exists(const std::string& path);

}  // namespace monsys::inventory
