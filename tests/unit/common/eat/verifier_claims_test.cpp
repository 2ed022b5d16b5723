// Claim rules other than time. Every token is a PyJWT fixture, verified at the fixture's now.
#include <doctest/doctest.h>

#include "tests/unit/common/eat/eat_fixtures.hpp"

using eat_test::outcome;

TEST_CASE("eat: a wrong or missing issuer is refused (wrong_issuer)") {
    CHECK(outcome("iss_wrong") == "wrong_issuer");
    CHECK(outcome("iss_missing") == "wrong_issuer");
}

TEST_CASE("eat: a wrong audience is refused (wrong_audience)") {
    CHECK(outcome("aud_wrong") == "wrong_audience");
    CHECK(outcome("aud_missing") == "wrong_audience");
}

TEST_CASE("eat: an aud array without monsys-agent is refused (wrong_audience)") {
    CHECK(outcome("aud_array_without") == "wrong_audience");
}

TEST_CASE("eat: an aud array containing monsys-agent is accepted") {
    auto claims = eat_test::verify("valid_aud_array");
    REQUIRE(claims);
    CHECK(claims->aud == std::vector<std::string>{"monsys-console", "monsys-agent"});
}

TEST_CASE("eat: a token for another agent is refused (wrong_agent)") {
    CHECK(outcome("sub_wrong") == "wrong_agent");
}

TEST_CASE("eat: an empty, over-long or non-string jti is refused (bad_jti)") {
    CHECK(outcome("jti_empty") == "bad_jti");
    CHECK(outcome("jti_too_long") == "bad_jti");
    CHECK(outcome("jti_number") == "bad_jti");
    CHECK(outcome("valid_jti_128") == "ok");
}

TEST_CASE("eat: level 1 is refused for restart-app (insufficient_level)") {
    CHECK(outcome("lvl_1") == "insufficient_level");
    CHECK(outcome("lvl_missing") == "insufficient_level");
    CHECK(outcome("lvl_string") == "insufficient_level");
}

TEST_CASE("eat: the required level is a setting") {
    auto settings = eat_test::common_settings();
    settings.required_level = 1;
    CHECK(eat_test::outcome_of(eat_test::token("lvl_1"), settings, eat_test::fixture_now()) ==
          "ok");
    settings.required_level = 3;
    CHECK(eat_test::outcome_of(eat_test::token("valid"), settings, eat_test::fixture_now()) ==
          "insufficient_level");
}

TEST_CASE("eat: another action is refused (wrong_action)") {
    CHECK(outcome("act_wrong") == "wrong_action");
}

TEST_CASE("eat: amr without otp is refused (no_otp)") {
    CHECK(outcome("amr_without_otp") == "no_otp");
    CHECK(outcome("amr_string") == "no_otp");
    CHECK(outcome("amr_missing") == "no_otp");
}

TEST_CASE("eat: a missing app, unknown app type, or app without id/identifier (bad_app)") {
    CHECK(outcome("app_missing") == "bad_app");
    CHECK(outcome("app_type_unknown") == "bad_app");
    CHECK(outcome("app_id_missing") == "bad_app");
    CHECK(outcome("app_identifier_missing") == "bad_app");
}

TEST_CASE("eat: hostile identifiers are refused for every app type (bad_identifier)") {
    int checked = 0;
    for (const auto& [name, entry] : eat_test::document().at("tokens").items()) {
        if (name.rfind("identifier_", 0) != 0) continue;
        INFO(name);
        CHECK(outcome(name) == "bad_identifier");
        ++checked;
    }
    CHECK(checked == 4 * 6);  // systemd, docker, compose, process x the six hostile strings
}

TEST_CASE("eat: a process app without restart_command is refused (bad_restart_command)") {
    CHECK(outcome("process_without_restart_command") == "bad_restart_command");
}

TEST_CASE("eat: a relative or unnormalized restart_command is refused (bad_restart_command)") {
    CHECK(outcome("process_relative_restart_command") == "bad_restart_command");
    CHECK(outcome("process_dotdot_restart_command") == "bad_restart_command");
}

TEST_CASE("eat: restart_command on a non-process app is refused (bad_restart_command)") {
    CHECK(outcome("systemd_with_restart_command") == "bad_restart_command");
}

TEST_CASE("eat: an over-long or non-string reason is refused (bad_reason)") {
    CHECK(outcome("reason_too_long") == "bad_reason");
    CHECK(outcome("reason_number") == "bad_reason");
}

TEST_CASE("eat: a non-string by is refused (bad_payload)") {
    CHECK(outcome("by_number") == "bad_payload");
}
