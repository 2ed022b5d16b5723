#include "agent/inventory/docker_containers.hpp"

#include <algorithm>
#include <map>
#include <memory>

namespace monsys::inventory {
namespace {

using io::docker::ApiVersion;

// The zero time Docker reports for "never started".
bool is_zero_time(const std::string& time) {
    return time.empty() || time.rfind("0001-01-01", 0) == 0;
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline,
                                     std::chrono::milliseconds at_most) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return std::clamp(left, std::chrono::milliseconds(1), at_most);
}

// Inspects containers a few at a time on one io_context; whatever is not back by the deadline
// keeps its fields empty.
class InspectBatch {
  public:
    InspectBatch(const io::DockerSettings& settings, ApiVersion version,
                 std::vector<Container*> targets, std::size_t concurrency,
                 std::chrono::steady_clock::time_point deadline)
        : settings_(settings),
          version_(version),
          targets_(std::move(targets)),
          concurrency_(std::max<std::size_t>(concurrency, 1)),
          deadline_(deadline) {}

    std::size_t run() {
        for (std::size_t i = 0; i < concurrency_; ++i) start_next();
        io_.run_until(deadline_);
        return targets_.size() - completed_;
    }

  private:
    void start_next() {
        if (next_ >= targets_.size()) return;
        Container* target = targets_[next_++];
        io::docker::Request request;
        request.target = "/v" + version_.to_string() + "/containers/" +
                         io::docker::url_encode(target->id) + "/json";
        io::DockerSettings settings = settings_;
        settings.timeout = left_until(deadline_, settings_.timeout);
        io::docker::async_exchange(
            io_.get_executor(), settings, io::docker::Limits{}, std::move(request),
            [this, target](Expected<io::docker::Response, std::string> reply) {
                on_reply(*target, std::move(reply));
            });
    }

    void on_reply(Container& target, Expected<io::docker::Response, std::string> reply) {
        if (reply && reply->status / 100 == 2) {
            if (auto state = io::docker::decode_container_inspect(reply->body)) {
                apply_inspect(target, *state);
                ++completed_;
            }
        }
        start_next();
    }

    io::DockerSettings settings_;
    ApiVersion version_;
    std::vector<Container*> targets_;
    std::size_t concurrency_;
    std::chrono::steady_clock::time_point deadline_;
    std::size_t next_ = 0;
    std::size_t completed_ = 0;
    asio::io_context io_;  // last: destroyed first, with any handler still holding `this`
};

}  // namespace

Container to_container(const io::docker::ContainerSummary& summary) {
    Container container;
    container.id = summary.id;
    container.name = summary.names.empty() ? summary.id.substr(0, 12) : summary.names.front();
    container.image = summary.image;
    container.state = summary.state;
    container.status = summary.status;
    container.created_unix = summary.created;
    container.labels = summary.labels;
    return container;
}

void apply_inspect(Container& container, const io::docker::ContainerState& state) {
    if (!is_zero_time(state.started_at)) container.started_at = state.started_at;
    container.restart_count =
        static_cast<int>(std::clamp<std::int64_t>(state.restart_count, 0, 1 << 30));
    // The inspect is newer than the list; a container in a crash loop is caught more precisely.
    if (!state.status.empty()) container.state = state.status;
}

std::vector<ComposeService> group_compose_services(const std::vector<Container>& containers) {
    std::map<std::string, ComposeService> services;
    for (const Container& container : containers) {
        auto project = container.labels.find(compose_project_label);
        auto service = container.labels.find(compose_service_label);
        if (project == container.labels.end() || service == container.labels.end()) continue;
        ComposeService& row = services[project->second + "::" + service->second];
        row.project = project->second;
        row.service = service->second;
        row.containers.push_back(container.name);
        if (container.state == "running") ++row.running;
    }
    std::vector<ComposeService> rows;
    rows.reserve(services.size());
    for (auto& [identifier, row] : services) {
        std::sort(row.containers.begin(), row.containers.end());
        rows.push_back(std::move(row));
    }
    return rows;
}

DockerSection docker_section_from_list(const std::string& api_version,
                                       const io::docker::Response& reply) {
    DockerSection section;
    section.api_version = api_version;
    if (reply.status != 200) {
        section.status.error = io::docker::describe_http_failure(reply);
        return section;
    }
    auto listed = io::docker::decode_container_list(reply.body);
    if (!listed) {
        section.status.error = listed.error();
        return section;
    }
    for (const auto& summary : *listed) section.containers.push_back(to_container(summary));
    std::sort(section.containers.begin(), section.containers.end(),
              [](const Container& a, const Container& b) { return a.name < b.name; });
    section.compose_services = group_compose_services(section.containers);
    return section;
}

DockerSection list_docker(io::docker::DockerClient& client) {
    DockerSection section;
    auto version = client.api_version();
    if (!version) {
        section.status.error = version.error();
        return section;
    }
    auto reply = client.get("/containers/json?all=1");
    if (!reply) {
        section.api_version = version->to_string();
        section.status.error = reply.error();
        return section;
    }
    return docker_section_from_list(version->to_string(), *reply);
}

DockerSection collect_docker(const io::DockerSettings& settings, const DockerQuery& query,
                             std::chrono::steady_clock::time_point deadline) {
    io::DockerSettings bounded = settings;
    bounded.timeout = left_until(deadline, settings.timeout);
    io::docker::DockerClient client(bounded);
    DockerSection section = list_docker(client);
    if (!section.status.ok() || !query.inspect) return section;
    auto version = client.api_version();
    std::vector<Container*> targets;
    for (Container& container : section.containers) {
        // A running container's list entry says what matters ("Up 2 hours"); for the others
        // the restart count tells a crash loop from a deliberate stop.
        if (container.state == "running") continue;
        if (targets.size() >= query.max_inspect) {
            ++section.inspect_skipped;
            continue;
        }
        targets.push_back(&container);
    }
    InspectBatch batch(bounded, *version, std::move(targets), query.inspect_concurrency, deadline);
    section.inspect_skipped += batch.run();
    // Inspect states are newer than the list's; count again.
    section.compose_services = group_compose_services(section.containers);
    return section;
}

}  // namespace monsys::inventory
