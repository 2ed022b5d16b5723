#include <doctest/doctest.h>

#include "action-wrapper/restart/docker_restart.hpp"

using namespace monsys::action;
using monsys::io::docker::ContainerState;
using namespace std::chrono_literals;

namespace {

ContainerState running(const char* started_at, std::int64_t pid) {
    ContainerState s;
    s.id = "abc";
    s.name = "web";
    s.status = "running";
    s.running = true;
    s.started_at = started_at;
    s.pid = pid;
    return s;
}

ContainerState exited(const char* started_at, std::int64_t code) {
    ContainerState s;
    s.id = "abc";
    s.name = "web";
    s.status = "exited";
    s.started_at = started_at;
    s.exit_code = code;
    return s;
}

}  // namespace

TEST_CASE("docker: a running container with a new StartedAt is restarted") {
    auto verdict = judge_restarted_container(running("2024-01-01T00:00:00Z", 10),
                                             running("2024-01-01T00:05:00Z", 20));
    CHECK(verdict.status == RestartStatus::succeeded);
    CHECK(verdict.message.empty());
}

TEST_CASE("docker: a stopped container that started now counts too") {
    ContainerState before = exited("0001-01-01T00:00:00Z", 0);
    before.status = "created";
    CHECK(judge_restarted_container(before, running("2024-01-01T00:05:00Z", 20)).status ==
          RestartStatus::succeeded);
}

TEST_CASE("docker: the same StartedAt means it was not restarted") {
    auto verdict = judge_restarted_container(running("2024-01-01T00:00:00Z", 10),
                                             running("2024-01-01T00:00:00Z", 10));
    CHECK(verdict.status == RestartStatus::failed);
    CHECK(verdict.message ==
          "container web is running but was not restarted (StartedAt 2024-01-01T00:00:00Z "
          "unchanged)");
}

TEST_CASE("docker: a container that exits right after the restart has failed") {
    auto verdict = judge_restarted_container(running("2024-01-01T00:00:00Z", 10),
                                             exited("2024-01-01T00:05:00Z", 3));
    CHECK(verdict.status == RestartStatus::failed);
    CHECK(verdict.message ==
          "container web exited right after the restart (exit code 3, status exited)");
    ContainerState never = exited("0001-01-01T00:00:00Z", 0);
    never.status = "created";
    never.error = "exec: \"/x\": not found";
    auto unstarted = judge_restarted_container(never, never);
    CHECK(unstarted.message ==
          "container web did not start (status created): exec: \"/x\": not found");
}

TEST_CASE("docker: the stop grace fits the time left") {
    CHECK(stop_grace_seconds(120s) == 10);
    CHECK(stop_grace_seconds(23s) == 10);
    CHECK(stop_grace_seconds(13s) == 5);
    CHECK(stop_grace_seconds(5s) == 1);
    CHECK(stop_grace_seconds(3s) == 0);
    CHECK(stop_grace_seconds(0s) == 0);
    CHECK(stop_grace_seconds(-5s) == 0);
}

TEST_CASE("docker: summary line and evidence") {
    CHECK(
        container_summary("web", RestartStatus::succeeded, running("T1", 10), running("T2", 20)) ==
        "web restarted: StartedAt T1 -> T2, Pid 10 -> 20");
    CHECK(container_summary("web", RestartStatus::failed, running("T1", 10), exited("T2", 3)) ==
          "web restart failed: StartedAt T1 -> T2, Pid 10 -> 0, now exited");
    CHECK(container_summary("web", RestartStatus::failed, running("T1", 10), std::nullopt) ==
          "web restart failed: StartedAt T1 -> unknown, Pid 10 -> unknown");
    auto json = container_state_json(running("T1", 10));
    CHECK(json["Status"] == "running");
    CHECK(json["StartedAt"] == "T1");
    CHECK(json["Pid"] == 10);
    CHECK(json["RestartCount"] == 0);
}
