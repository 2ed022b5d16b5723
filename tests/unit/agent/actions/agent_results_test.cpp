// Result objects the agent builds itself must have the shape monsys-action prints, so that the
// hub files them the same way (docs/protocol.md, docs/monsys-action.md).
#include <doctest/doctest.h>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/agent_results.hpp"
#include "agent/actions/wrapper_launcher.hpp"
#include "common/action/action_result.hpp"

#include <future>
#include <thread>

using namespace monsys;
using namespace monsys::agent::actions;

TEST_CASE("agent results: a refusal before verification names no jti and no app") {
    auto result =
        agent_result(refusal_fields(std::nullopt, std::nullopt, "bad_signature",
                                    "the signature does not verify", "2026-11-28T09:00:00.000Z"));
    CHECK(result["status"] == "rejected");
    CHECK(result["reason"] == "bad_signature");
    CHECK(result["jti"].is_null());
    CHECK(result["type"].is_null());
    CHECK(result["exit_code"].is_null());
    CHECK(result["started_at"] == "2026-11-28T09:00:00.000Z");
    CHECK(result["finished_at"] == "2026-11-28T09:00:00.000Z");
    for (const char* field :
         {"app_id", "identifier", "message", "stdout", "stderr", "stdout_truncated",
          "stderr_truncated", "duration_ms", "before", "after", "wrapper_exit_code"}) {
        CHECK_MESSAGE(result.contains(field), field);
    }
}

TEST_CASE("agent results: a refusal after verification carries the token's app") {
    app::AppRef app{"app-7", app::AppType::docker, "web", ""};
    auto result = agent_result(refusal_fields(std::string("jti-1"), app, "replayed", "already",
                                              "2026-11-28T09:00:00.000Z"));
    CHECK(result["jti"] == "jti-1");
    CHECK(result["app_id"] == "app-7");
    CHECK(result["type"] == "docker");
    CHECK(result["identifier"] == "web");
}

TEST_CASE("wrapper output: only an object of the one result type is a result") {
    results::ActionResult full;
    full.app_id = "app-1";
    full.status = results::ActionStatus::succeeded;
    full.finished_at = std::chrono::system_clock::now();
    full.started_at = full.finished_at;
    const std::string printed = results::to_json(full).dump();
    CHECK(parse_wrapper_result(printed));
    CHECK(parse_wrapper_result(printed + "\n"));
    CHECK_FALSE(parse_wrapper_result(R"({"status":"succeeded","exit_code":0})"));  // partial
    CHECK_FALSE(parse_wrapper_result(""));
    CHECK_FALSE(parse_wrapper_result("sudo: a password is required\n"));
    CHECK_FALSE(parse_wrapper_result(R"(["status"])"));
    CHECK_FALSE(parse_wrapper_result(R"({"status":"ok","status":"failed"})"));  // duplicate
    CHECK_FALSE(parse_wrapper_result(R"({"status":"ok")"));
}

TEST_CASE("agent results: duration_ms is what was measured, else finished - started") {
    auto fields = refusal_fields(std::nullopt, std::nullopt, "wrapper_failed", "timed out",
                                 "2026-11-28T09:00:00.000Z");
    fields.finished_at = "2026-11-28T09:02:30.250Z";
    CHECK(agent_result(fields)["duration_ms"] == 150250);
    fields.measured = std::chrono::milliseconds(150003);
    CHECK(agent_result(fields)["duration_ms"] == 150003);
}

TEST_CASE("wrapper launcher: a wrapper that fails is reported with its real duration") {
    ActionSettings settings;
    settings.action_command = {"/bin/sh", "-c", "sleep 0.3; echo oops >&2; exit 7", "sh"};
    settings.wrapper_timeout = std::chrono::milliseconds(10000);
    auto launcher = make_wrapper_launcher(settings);
    app::AppRef app{"app-1", app::AppType::systemd, "web.service", ""};
    ActionReport report = launcher->run(WrapperRequest{"token", "jti-1", app});
    CHECK(report.reported_by == "agent");
    CHECK_FALSE(report.cancelled);
    CHECK(report.result["reason"] == "wrapper_failed");
    CHECK(report.result["wrapper_exit_code"] == 7);
    CHECK(report.result["stderr"] == "oops\n");
    CHECK(report.result["duration_ms"].get<std::int64_t>() >= 300);
    CHECK(results::check_result_json(report.result.dump()));
}

TEST_CASE("wrapper launcher: cancel ends a running wrapper soon, marked cancelled") {
    ActionSettings settings;
    settings.action_command = {"/bin/sh", "-c", "exec sleep 30", "sh"};
    auto launcher = make_wrapper_launcher(settings);
    std::shared_ptr<WrapperLauncher> shared = std::move(launcher);
    app::AppRef app{"app-1", app::AppType::systemd, "web.service", ""};
    const auto started = std::chrono::steady_clock::now();
    auto running = std::async(std::launch::async, [shared, app]() {
        return shared->run(WrapperRequest{"token", "jti-1", app});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    shared->cancel();
    ActionReport report = running.get();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(7));
    CHECK(report.cancelled);
}
