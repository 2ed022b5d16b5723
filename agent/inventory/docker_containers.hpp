#pragma once
// The docker section: one GET /containers/json?all=1 over the engine's Unix socket, compose
// services derived from the com.docker.compose.* labels, and per-container inspects for the two
// fields the list lacks (start time, restart count) only for containers that are not running
// (where the restart count tells a crash loop from a deliberate stop), bounded in number and run
// a few at a time.
#include <chrono>
#include <string>
#include <vector>

#include "common/inventory/model.hpp"
#include "common/io/docker/containers.hpp"
#include "common/io/docker/docker_client.hpp"

namespace monsys::inventory {

inline constexpr const char* compose_project_label = "com.docker.compose.project";
inline constexpr const char* compose_service_label = "com.docker.compose.service";

Container to_container(const io::docker::ContainerSummary& summary);
void apply_inspect(Container& container, const io::docker::ContainerState& state);

// One row per <project>::<service> that has at least one container. Sorted by identifier.
std::vector<ComposeService> group_compose_services(const std::vector<Container>& containers);

struct DockerQuery {
    bool inspect = true;
    std::size_t max_inspect = 64;
    std::size_t inspect_concurrency = 4;
};

// The list alone (no inspects), on a client that may be kept between calls.
DockerSection list_docker(io::docker::DockerClient& client);

// The section from one reply to GET /containers/json?all=1 (pure, shared by list_docker and the
// async docker_source): containers sorted by name, compose services grouped; a non-2xx reply or
// an unreadable body becomes the section's error.
DockerSection docker_section_from_list(const std::string& api_version,
                                       const io::docker::Response& reply);

DockerSection collect_docker(const io::DockerSettings& settings, const DockerQuery& query,
                             std::chrono::steady_clock::time_point deadline);

}  // namespace monsys::inventory
