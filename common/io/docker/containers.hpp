#pragma once
// Decoders for Docker Engine API replies about containers (pure: text in, structs out), and the
// calls that fetch them. Decoders accept both Docker's and podman's compatible schemas.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/docker/response.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::docker {

class DockerClient;

// GET /containers/{id}/json, the parts that tell whether and when it (re)started.
struct ContainerState {
    std::string id;
    std::string name;    // without Docker's leading '/'
    std::string status;  // "created", "running", "paused", "restarting", "exited", "dead"...
    bool running = false;
    std::string started_at;   // RFC 3339 as sent; zero time ("0001-01-01T00:00:00Z") if never
    std::string finished_at;  // ditto
    std::int64_t pid = 0;
    std::int64_t exit_code = 0;
    std::int64_t restart_count = 0;
    std::string error;  // State.Error: why the last start failed, if the engine says
    std::map<std::string, std::string> labels;
};

// GET /containers/json, one entry.
struct ContainerSummary {
    std::string id;
    std::vector<std::string> names;  // without leading '/'
    std::string image;
    std::string state;   // "running", "exited", ...
    std::string status;  // "Up 2 minutes", ...
    std::int64_t created = 0;
    std::map<std::string, std::string> labels;
};

inline constexpr std::size_t kMaxContainers = 10000;

Expected<ContainerState, std::string> decode_container_inspect(std::string_view body);
Expected<std::vector<ContainerSummary>, std::string> decode_container_list(
    std::string_view body, std::size_t max_count = kMaxContainers);

// A one-line explanation of a non-2xx reply: "HTTP 404: No such container: web" (the engine's
// "message" field when present and readable, else the status text alone).
std::string describe_http_failure(const Response& response);

// The value of ?filters= for GET /containers/json, matching containers that carry every label
// given as "key=value" (already URL-encoded).
std::string label_filter_query(const std::vector<std::string>& labels);

// Calls: inspect one container, list containers (query like "?all=1&filters=..."). A non-2xx
// reply is an error carrying describe_http_failure(); `not_found` is set when it was a 404.
// `step_timeout` 0 = the client's setting.
struct CallError {
    std::string message;
    bool not_found = false;
};
Expected<ContainerState, CallError> inspect_container(
    DockerClient& client, std::string_view name_or_id,
    std::chrono::milliseconds step_timeout = std::chrono::milliseconds{0});
Expected<std::vector<ContainerSummary>, CallError> list_containers(
    DockerClient& client, std::string_view query,
    std::chrono::milliseconds step_timeout = std::chrono::milliseconds{0});

}  // namespace monsys::io::docker
