#include <doctest/doctest.h>

#include "action-wrapper/restart/systemd_restart.hpp"

using namespace monsys::action;
using monsys::io::systemd::UnitState;

namespace {

UnitState service(const char* active, const char* sub, std::uint32_t pid) {
    return UnitState{"loaded", active, sub, pid, std::string("success")};
}

}  // namespace

TEST_CASE("systemd: only the job result 'done' is a success") {
    CHECK(status_for_job_result("done") == RestartStatus::succeeded);
    for (const char* result : {"failed", "timeout", "canceled", "dependency", "skipped", "", "DONE",
                               "invalid", "unsupported", "once"}) {
        CAPTURE(result);
        CHECK(status_for_job_result(result) == RestartStatus::failed);
    }
}

TEST_CASE("systemd: failure messages name the unit and the result") {
    CHECK(job_failure_message("nginx.service", "failed") ==
          "restart job of nginx.service ended with result 'failed': the unit failed to start (see "
          "its journal)");
    CHECK(job_failure_message("a.service", "timeout").find("'timeout'") != std::string::npos);
    CHECK(job_failure_message("a.service", "canceled").find("'canceled'") != std::string::npos);
    CHECK(job_failure_message("a.service", "dependency").find("requires") != std::string::npos);
    CHECK(job_failure_message("a.service", "skipped").find("condition") != std::string::npos);
    CHECK(job_failure_message("a.service", "weird") ==
          "restart job of a.service ended with result 'weird'");
    CHECK(job_failure_message("a.service", "failed", std::string("start-limit-hit"))
              .ends_with("(see its journal) (service result: start-limit-hit)"));
    CHECK(job_failure_message("a.service", "weird", std::string("success")) ==
          "restart job of a.service ended with result 'weird'");
}

TEST_CASE("systemd: summary line of a service restart") {
    CHECK(restart_summary("nginx.service", RestartStatus::succeeded,
                          service("active", "running", 1234), service("active", "running", 5678)) ==
          "nginx.service restarted: MainPID 1234 -> 5678");
    CHECK(restart_summary("nginx.service", RestartStatus::succeeded, std::nullopt,
                          service("active", "running", 77)) ==
          "nginx.service restarted: MainPID none -> 77");
    CHECK(restart_summary("nginx.service", RestartStatus::failed, service("active", "running", 10),
                          service("failed", "failed", 0)) ==
          "nginx.service restart failed: MainPID 10 -> 0, now failed/failed");
    CHECK(restart_summary("nginx.service", RestartStatus::timeout, service("active", "running", 10),
                          std::nullopt) == "nginx.service restart failed: MainPID 10 -> none");
}

TEST_CASE("systemd: summary line of units without a main PID") {
    UnitState socket{"loaded", "active", "listening", std::nullopt, std::nullopt};
    CHECK(restart_summary("x.socket", RestartStatus::succeeded, socket, socket) ==
          "x.socket restarted: active/listening");
    CHECK(restart_summary("x.socket", RestartStatus::failed, std::nullopt, std::nullopt) ==
          "x.socket restart failed: state unknown");
}

TEST_CASE("systemd: unit state as evidence JSON") {
    auto json = unit_state_json(service("active", "running", 42));
    CHECK(json["LoadState"] == "loaded");
    CHECK(json["ActiveState"] == "active");
    CHECK(json["SubState"] == "running");
    CHECK(json["MainPID"] == 42);
    CHECK(json["Result"] == "success");
    CHECK_FALSE(
        unit_state_json(UnitState{"loaded", "active", "listening", std::nullopt, std::nullopt})
            .contains("MainPID"));
    CHECK(unit_state_json(std::nullopt) == nlohmann::json{{"LoadState", "not-loaded"}});
}

TEST_CASE("systemd: a resolved unit is judged by its Id and every name, and needs an Id") {
    using monsys::io::systemd::UnitIdentity;
    CHECK(check_resolved_unit_allowed(
        "www.service", UnitIdentity{"nginx.service", {"nginx.service", "www.service"}}, {}));

    auto no_id = check_resolved_unit_allowed("www.service", UnitIdentity{"", {"www.service"}}, {});
    REQUIRE_FALSE(no_id);
    CHECK(no_id.error() == "systemd reports no Id for www.service");

    auto denied = check_resolved_unit_allowed(
        "www.service", UnitIdentity{"nginx.service", {"nginx.service", "www.service"}},
        {"nginx.service"});
    REQUIRE_FALSE(denied);
    CHECK(denied.error() ==
          "www.service is an alias of nginx.service, which is on the local policy's deny list "
          "(denied_units)");
}
