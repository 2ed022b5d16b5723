#include "action-wrapper/restart/docker_restart.hpp"

#include <algorithm>
#include <thread>

#include "common/io/docker/docker_client.hpp"

namespace monsys::action {

namespace {

using Clock = std::chrono::steady_clock;
using io::docker::ContainerState;
using io::docker::DockerClient;

constexpr int kDockerDefaultStopSeconds = 10;
// Time kept back from the deadline for the start and the inspections after the stop.
constexpr std::chrono::milliseconds kStartReserve{3000};

std::chrono::milliseconds time_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds(1));
}

// Each step of a call may take what is left of the deadline, but not more than the setting.
std::chrono::milliseconds step_timeout(const DockerClient& client, Clock::time_point deadline) {
    return std::min(time_left(deadline), client.settings().timeout);
}

RestartOutcome failure(RestartStatus status, std::string message) {
    RestartOutcome outcome;
    outcome.status = status;
    outcome.exit_code = 1;
    outcome.stderr_output.text = std::move(message);
    return outcome;
}

Expected<ContainerState, io::docker::CallError> inspect(DockerClient& client,
                                                        const std::string& name_or_id,
                                                        Clock::time_point deadline) {
    return io::docker::inspect_container(client, name_or_id, step_timeout(client, deadline));
}

// The inspection right after a restart. podman answers HTTP 500 ("read /proc/N/cgroup: no such
// process") when the container's process exits while it is being inspected, so a failure other
// than "no such container" is tried again, a few times, shortly after.
Expected<ContainerState, io::docker::CallError> inspect_after_restart(DockerClient& client,
                                                                      const std::string& id) {
    constexpr int attempts = 3;
    constexpr auto pause = std::chrono::milliseconds{150};
    auto state = inspect(client, id, Clock::now() + client.settings().timeout);
    for (int attempt = 1; attempt < attempts && !state && !state.error().not_found; ++attempt) {
        std::this_thread::sleep_for(pause);
        state = inspect(client, id, Clock::now() + client.settings().timeout);
    }
    return state;
}

// POST /containers/{id}/restart?t=N; the read may take as long as the stop grace plus a start.
Expected<io::docker::Response, std::string> post_restart(DockerClient& client,
                                                         const std::string& id,
                                                         Clock::time_point deadline) {
    int grace = stop_grace_seconds(time_left(deadline));
    std::string path =
        "/containers/" + io::docker::url_encode(id) + "/restart?t=" + std::to_string(grace);
    return client.post(path, {}, time_left(deadline));
}

// Re-inspects after `settle` to catch a container whose command exits right after starting.
ContainerVerdict settle_check(DockerClient& client, const std::string& id,
                              const ContainerState& before, ContainerState& after,
                              std::chrono::milliseconds settle, Clock::time_point deadline) {
    ContainerVerdict verdict = judge_restarted_container(before, after);
    if (verdict.status != RestartStatus::succeeded || settle.count() <= 0) return verdict;
    std::this_thread::sleep_for(std::min(settle, time_left(deadline)));
    auto later = inspect_after_restart(client, id);
    if (!later)
        return {RestartStatus::failed, "cannot inspect after restart: " + later.error().message};
    after = std::move(*later);
    return judge_restarted_container(before, after);
}

}  // namespace

nlohmann::json container_state_json(const ContainerState& state) {
    return {{"Id", state.id},
            {"Name", state.name},
            {"Status", state.status},
            {"Running", state.running},
            {"StartedAt", state.started_at},
            {"FinishedAt", state.finished_at},
            {"Pid", state.pid},
            {"ExitCode", state.exit_code},
            {"RestartCount", state.restart_count}};
}

int stop_grace_seconds(std::chrono::milliseconds left) {
    auto usable = std::chrono::duration_cast<std::chrono::seconds>(left - kStartReserve).count();
    return static_cast<int>(std::clamp<long long>(usable / 2, 0, kDockerDefaultStopSeconds));
}

ContainerVerdict judge_restarted_container(const ContainerState& before,
                                           const ContainerState& after) {
    if (!after.running) {
        const std::string status = after.status.empty() ? "unknown" : after.status;
        std::string message =
            after.started_at != before.started_at
                ? "container " + after.name + " exited right after the restart (exit code " +
                      std::to_string(after.exit_code) + ", status " + status + ")"
                : "container " + after.name + " did not start (status " + status + ")";
        if (!after.error.empty()) message += ": " + after.error;
        return {RestartStatus::failed, message};
    }
    if (after.started_at.empty() || after.started_at == before.started_at) {
        return {RestartStatus::failed, "container " + after.name +
                                           " is running but was not restarted (StartedAt " +
                                           after.started_at + " unchanged)"};
    }
    return {RestartStatus::succeeded, {}};
}

std::string container_summary(const std::string& name, RestartStatus status,
                              const std::optional<ContainerState>& before,
                              const std::optional<ContainerState>& after) {
    auto started = [](const std::optional<ContainerState>& s) {
        return s && !s->started_at.empty() ? s->started_at : std::string("unknown");
    };
    auto pid = [](const std::optional<ContainerState>& s) {
        return s ? std::to_string(s->pid) : std::string("unknown");
    };
    std::string text =
        name + (status == RestartStatus::succeeded ? " restarted: " : " restart failed: ");
    text += "StartedAt " + started(before) + " -> " + started(after) + ", Pid " + pid(before) +
            " -> " + pid(after);
    if (after && !after->running) text += ", now " + after->status;
    return text;
}

RestartOutcome restart_container_with(DockerClient& client, const std::string& name_or_id,
                                      Clock::time_point deadline,
                                      const DockerRestartOptions& options) {
    auto before = inspect(client, name_or_id, deadline);
    if (!before) {
        std::string prefix = before.error().not_found
                                 ? "no such container " + name_or_id + ": "
                                 : "cannot inspect container " + name_or_id + ": ";
        return failure(RestartStatus::failed, prefix + before.error().message);
    }
    // From here on the id is used, so a container renamed meanwhile cannot swap in.
    const std::string id = before->id;
    auto restarted = post_restart(client, id, deadline);
    if (!restarted) {
        bool late = Clock::now() >= deadline;
        RestartOutcome outcome =
            failure(late ? RestartStatus::timeout : RestartStatus::failed,
                    "restart of container " + name_or_id + " failed: " + restarted.error());
        outcome.before = container_state_json(*before);
        return outcome;
    }
    // The state after is evidence worth a moment past the deadline.
    auto after = inspect_after_restart(client, id);
    RestartOutcome outcome;
    outcome.before = container_state_json(*before);
    if (after) outcome.after = container_state_json(*after);
    if (restarted->status != 204) {
        outcome.status = RestartStatus::failed;
        outcome.stderr_output.text = "restart of container " + name_or_id +
                                     " refused: " + io::docker::describe_http_failure(*restarted);
    } else if (!after) {
        outcome.status = RestartStatus::failed;
        outcome.stderr_output.text = "cannot inspect container " + name_or_id +
                                     " after the restart: " + after.error().message;
    } else {
        ContainerVerdict verdict =
            settle_check(client, id, *before, *after, options.settle, deadline);
        outcome.after = container_state_json(*after);
        outcome.status = verdict.status;
        outcome.stderr_output.text = std::move(verdict.message);
    }
    outcome.exit_code = outcome.status == RestartStatus::succeeded ? 0 : 1;
    std::optional<ContainerState> after_state;
    if (after) after_state = *after;
    outcome.stdout_output.text = container_summary(before->name.empty() ? name_or_id : before->name,
                                                   outcome.status, *before, after_state);
    return outcome;
}

RestartOutcome restart_docker_container(const io::DockerSettings& docker,
                                        const std::string& name_or_id,
                                        std::chrono::milliseconds timeout,
                                        const DockerRestartOptions& options) {
    const auto deadline = Clock::now() + timeout;
    io::DockerSettings settings = docker;
    settings.timeout = std::min(settings.timeout, timeout);
    DockerClient client(settings);
    return restart_container_with(client, name_or_id, deadline, options);
}

RestartOutcome restart_docker_container(const io::DockerSettings& docker,
                                        const std::string& name_or_id,
                                        std::chrono::milliseconds timeout) {
    return restart_docker_container(docker, name_or_id, timeout, DockerRestartOptions{});
}

}  // namespace monsys::action
