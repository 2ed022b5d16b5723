// Result objects the agent builds itself must have the shape monsys-action prints, so that the
// hub files them the same way (docs/protocol.md, docs/monsys-action.md).
#include <doctest/doctest.h>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/agent_results.hpp"

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

TEST_CASE("wrapper output: only a JSON object with a string status is a result") {
    CHECK(parse_wrapper_result(R"({"status":"succeeded","exit_code":0})"));
    CHECK_FALSE(parse_wrapper_result(""));
    CHECK_FALSE(parse_wrapper_result("sudo: a password is required\n"));
    CHECK_FALSE(parse_wrapper_result(R"(["status"])"));
    CHECK_FALSE(parse_wrapper_result(R"({"status":1})"));
    CHECK_FALSE(parse_wrapper_result(R"({"status":"ok","status":"failed"})"));  // duplicate
    CHECK_FALSE(parse_wrapper_result(R"({"status":"ok")"));
}
