#pragma once
// Restart of one Docker container through the Engine API (no docker CLI): inspect, POST
// /containers/{id}/restart?t=N, inspect again, and require it running with a new StartedAt,
// still running after a short settle period.
#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/io/docker/containers.hpp"
#include "common/io/docker/docker_settings.hpp"

namespace monsys::action {

struct DockerRestartOptions {
    // After a successful restart the container must still be running this long later; a
    // container whose command exits right away is reported failed. 0 = check once, at once.
    std::chrono::milliseconds settle{500};
};

RestartOutcome restart_docker_container(const io::DockerSettings& docker,
                                        const std::string& name_or_id,
                                        std::chrono::milliseconds timeout);
RestartOutcome restart_docker_container(const io::DockerSettings& docker,
                                        const std::string& name_or_id,
                                        std::chrono::milliseconds timeout,
                                        const DockerRestartOptions& options);

// The same on an existing client with an absolute deadline (compose restarts several).
RestartOutcome restart_container_with(io::docker::DockerClient& client,
                                      const std::string& name_or_id,
                                      std::chrono::steady_clock::time_point deadline,
                                      const DockerRestartOptions& options);

// Pure decisions, unit-tested with recorded replies.

// {"Status":..,"Running":..,"StartedAt":..,"Pid":..,"RestartCount":..,"ExitCode":..}
nlohmann::json container_state_json(const io::docker::ContainerState& state);

// The ?t= stop grace for Docker's restart: Docker's default of 10 s, less when the deadline is
// near, so that stopping plus starting fits the time left.
int stop_grace_seconds(std::chrono::milliseconds time_left);

struct ContainerVerdict {
    RestartStatus status = RestartStatus::failed;
    std::string message;  // empty on success
};

// Judges the container state after a 204 from the restart call.
ContainerVerdict judge_restarted_container(const io::docker::ContainerState& before,
                                           const io::docker::ContainerState& after);

// "web restarted: StartedAt 2024-..Z -> 2024-..Z, Pid 1234 -> 5678"
std::string container_summary(const std::string& name, RestartStatus status,
                              const std::optional<io::docker::ContainerState>& before,
                              const std::optional<io::docker::ContainerState>& after);

}  // namespace monsys::action
