#include "action-wrapper/restart/compose_restart.hpp"

#include <algorithm>
#include <cctype>

#include "common/io/docker/docker_client.hpp"

namespace monsys::action {

namespace {

using Clock = std::chrono::steady_clock;

std::string display_name(const io::docker::ContainerSummary& container) {
    return container.names.empty() ? container.id.substr(0, 12) : container.names.front();
}

std::string service_label(const app::ComposeRef& service) {
    return service.project + "::" + service.service;
}

bool has_label(const io::docker::ContainerSummary& container, const char* key,
               const std::string& value) {
    auto it = container.labels.find(key);
    return it != container.labels.end() && it->second == value;
}

bool is_service_container(const io::docker::ContainerSummary& container,
                          const app::ComposeRef& service) {
    return has_label(container, kComposeProjectLabel, service.project) &&
           has_label(container, kComposeServiceLabel, service.service);
}

// "" or " (2 one-off containers left out)".
std::string oneoff_note(std::size_t count) {
    if (count == 0) return {};
    return " (" + std::to_string(count) + " one-off container" + (count == 1 ? "" : "s") +
           " left out)";
}

RestartOutcome failure(std::string message) {
    RestartOutcome outcome;
    outcome.status = RestartStatus::failed;
    outcome.exit_code = 1;
    outcome.stderr_output.text = std::move(message);
    return outcome;
}

}  // namespace

std::string compose_list_query(const app::ComposeRef& service) {
    return "?all=1&filters=" + io::docker::label_filter_query(
                                   {std::string(kComposeProjectLabel) + "=" + service.project,
                                    std::string(kComposeServiceLabel) + "=" + service.service});
}

bool is_oneoff_container(const io::docker::ContainerSummary& container) {
    auto it = container.labels.find(kComposeOneoffLabel);
    if (it == container.labels.end()) return false;
    std::string value = it->second;
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return value == "true";
}

std::vector<io::docker::ContainerSummary> compose_members(
    const std::vector<io::docker::ContainerSummary>& listed, const app::ComposeRef& service) {
    std::vector<io::docker::ContainerSummary> members;
    for (const auto& container : listed) {
        if (is_service_container(container, service) && !is_oneoff_container(container)) {
            members.push_back(container);
        }
    }
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return display_name(a) < display_name(b); });
    return members;
}

RestartOutcome combine_compose_outcomes(const app::ComposeRef& service,
                                        const std::vector<std::string>& names,
                                        const std::vector<RestartOutcome>& outcomes) {
    RestartOutcome combined;
    std::size_t succeeded = 0;
    bool any_timeout = false;
    std::string failures;
    std::string restarted;
    for (std::size_t i = 0; i < outcomes.size() && i < names.size(); ++i) {
        const RestartOutcome& one = outcomes[i];
        combined.before[names[i]] = one.before;
        combined.after[names[i]] = one.after;
        if (one.status == RestartStatus::succeeded) {
            ++succeeded;
            restarted += (restarted.empty() ? "" : ", ") + names[i];
        } else {
            any_timeout = any_timeout || one.status == RestartStatus::timeout;
            failures += (failures.empty() ? "" : "; ") + names[i] + ": " + one.stderr_output.text;
        }
    }
    const bool all = !outcomes.empty() && succeeded == outcomes.size();
    combined.status = all ? RestartStatus::succeeded
                          : (any_timeout ? RestartStatus::timeout : RestartStatus::failed);
    combined.exit_code = all ? 0 : 1;
    combined.stdout_output.text = "compose service " + service_label(service) + ": " +
                                  std::to_string(succeeded) + "/" +
                                  std::to_string(outcomes.size()) + " containers restarted" +
                                  (restarted.empty() ? "" : " (" + restarted + ")");
    combined.stderr_output.text = failures;
    return combined;
}

RestartOutcome restart_compose_service(const io::DockerSettings& docker,
                                       const app::ComposeRef& service,
                                       std::chrono::milliseconds timeout,
                                       const DockerRestartOptions& options) {
    const auto deadline = Clock::now() + timeout;
    io::DockerSettings settings = docker;
    settings.timeout = std::min(settings.timeout, timeout);
    io::docker::DockerClient client(settings);

    auto listed = io::docker::list_containers(client, compose_list_query(service));
    if (!listed) {
        return failure("cannot list the containers of compose service " + service_label(service) +
                       ": " + listed.error().message);
    }
    auto members = compose_members(*listed, service);
    const auto oneoffs = static_cast<std::size_t>(
        std::count_if(listed->begin(), listed->end(), [&service](const auto& container) {
            return is_service_container(container, service) && is_oneoff_container(container);
        }));
    if (members.empty()) {
        return failure("compose service " + service_label(service) +
                       " has no containers (none carries the labels " + kComposeProjectLabel + "=" +
                       service.project + " and " + kComposeServiceLabel + "=" + service.service +
                       ")" + oneoff_note(oneoffs));
    }

    std::vector<std::string> names;
    std::vector<RestartOutcome> outcomes;
    for (std::size_t i = 0; i < members.size(); ++i) {
        // Each container gets an equal share of the time left, so one slow stop cannot starve
        // the rest.
        auto left = deadline - Clock::now();
        auto share = Clock::now() + left / static_cast<long>(members.size() - i);
        names.push_back(display_name(members[i]));
        outcomes.push_back(restart_container_with(client, members[i].id, share, options));
    }
    RestartOutcome combined = combine_compose_outcomes(service, names, outcomes);
    combined.stdout_output.text += oneoff_note(oneoffs);
    return combined;
}

RestartOutcome restart_compose_service(const io::DockerSettings& docker,
                                       const app::ComposeRef& service,
                                       std::chrono::milliseconds timeout) {
    return restart_compose_service(docker, service, timeout, DockerRestartOptions{});
}

}  // namespace monsys::action
