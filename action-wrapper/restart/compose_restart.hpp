#pragma once
// Restart of a Compose service: every container (running or not) labelled with its project and
// service is restarted, one after the other, each through the Docker restart method.
#include <chrono>
#include <string>
#include <vector>

#include "action-wrapper/restart/docker_restart.hpp"
#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/app/identifier.hpp"
#include "common/io/docker/containers.hpp"

namespace monsys::action {

inline constexpr const char* kComposeProjectLabel = "com.docker.compose.project";
inline constexpr const char* kComposeServiceLabel = "com.docker.compose.service";
// "True" on the containers of `docker compose run` (one-off tasks), "False" on the service's own.
inline constexpr const char* kComposeOneoffLabel = "com.docker.compose.oneoff";

RestartOutcome restart_compose_service(const io::DockerSettings& docker,
                                       const app::ComposeRef& service,
                                       std::chrono::milliseconds timeout);
RestartOutcome restart_compose_service(const io::DockerSettings& docker,
                                       const app::ComposeRef& service,
                                       std::chrono::milliseconds timeout,
                                       const DockerRestartOptions& options);

// Pure parts, unit-tested.

// The ?all=1&filters=... query selecting the service's containers.
std::string compose_list_query(const app::ComposeRef& service);

// A one-off container (`docker compose run`): it carries com.docker.compose.oneoff=True. It
// belongs to no running service and is never restarted with one.
bool is_oneoff_container(const io::docker::ContainerSummary& container);

// The containers of the list that really carry both labels with these values (the engine's
// filter is not trusted alone), one-off containers left out, sorted by name for a stable order.
std::vector<io::docker::ContainerSummary> compose_members(
    const std::vector<io::docker::ContainerSummary>& listed, const app::ComposeRef& service);

// Folds the per-container outcomes into one: succeeded only if every one did; timeout if any
// timed out; before/after are {"<container>": state}; one summary line; failures joined.
RestartOutcome combine_compose_outcomes(const app::ComposeRef& service,
                                        const std::vector<std::string>& names,
                                        const std::vector<RestartOutcome>& outcomes);

}  // namespace monsys::action
