#include <doctest/doctest.h>

#include "action-wrapper/policy/local_policy.hpp"

using monsys::action::LocalPolicy;
using monsys::action::parse_policy;
using monsys::action::policy_refusal;
using monsys::app::AppRef;
using monsys::app::AppType;

namespace {
AppRef app(AppType type, std::string identifier, std::string command = {}) {
    return AppRef{"app-1", type, std::move(identifier), std::move(command)};
}
}  // namespace

TEST_CASE("policy: the defaults allow ordinary apps") {
    LocalPolicy policy;
    CHECK_FALSE(policy_refusal(policy, app(AppType::systemd, "nginx.service")));
    CHECK_FALSE(policy_refusal(policy, app(AppType::docker, "web1")));
    CHECK_FALSE(policy_refusal(policy, app(AppType::compose, "flowd_dev::app")));
    // A process app needs an entry of restart_commands (restart_commands_test.cpp).
}

TEST_CASE("policy: the bus daemon, PID 1's units and user managers are never restarted") {
    LocalPolicy policy;
    for (const char* unit : {"dbus.service", "dbus-broker.service", "init.scope", "-.slice",
                             "user@0.service", "user@1000.service", "systemd-journald.service"}) {
        CAPTURE(unit);
        auto refusal = policy_refusal(policy, app(AppType::systemd, unit));
        REQUIRE(refusal);
        CHECK(refusal->rfind(unit, 0) == 0);  // unit_rules_test.cpp checks the wording
    }
}

TEST_CASE("policy: dangerous units are refused by name, before the token is consumed") {
    LocalPolicy policy;
    CHECK(policy_refusal(policy, app(AppType::systemd, "poweroff.target")) ==
          "poweroff.target is not a service: only .service units are restarted");
    CHECK(policy_refusal(policy, app(AppType::systemd, "getty@.service"))
              ->find("template without an instance") != std::string::npos);
    CHECK(policy_refusal(policy, app(AppType::systemd, "debug-shell.service")) ==
          "debug-shell.service is on the built-in deny list");
    CHECK(policy_refusal(policy, app(AppType::systemd, "monsys-restart@accapp.service")) ==
          "monsys-restart@accapp.service is on the built-in deny list");
}

TEST_CASE("policy: a file adds denied units and cannot remove the built-in ones") {
    auto policy = parse_policy(R"({"denied_units": ["postgresql*.service"]})");
    REQUIRE(policy);
    CHECK(policy_refusal(*policy, app(AppType::systemd, "postgresql@15-main.service")));
    CHECK(policy_refusal(*policy, app(AppType::systemd, "dbus.service")));
    CHECK_FALSE(policy_refusal(*policy, app(AppType::systemd, "nginx.service")));
}

TEST_CASE("policy: allowed types") {
    auto policy = parse_policy(R"({"allowed_types": ["systemd"]})");
    REQUIRE(policy);
    CHECK_FALSE(policy_refusal(*policy, app(AppType::systemd, "nginx.service")));
    auto refusal = policy_refusal(*policy, app(AppType::docker, "web1"));
    REQUIRE(refusal);
    CHECK(refusal->find("docker") != std::string::npos);
    CHECK(policy_refusal(*policy, app(AppType::process, "/opt/a", "/opt/a/restart")));
}

TEST_CASE("policy: file errors name the field") {
    CHECK(parse_policy(R"({"allowed_types": ["vm"]})").error().find("'allowed_types'") == 6);
    CHECK(parse_policy(R"({"denied": []})").error().find("unknown field") != std::string::npos);
    CHECK(parse_policy(R"({"denied_units": "x"})").error().find("'denied_units'") == 6);
    CHECK_FALSE(parse_policy("[]"));
}

TEST_CASE("policy: a missing file gives the defaults") {
    auto policy = monsys::action::load_policy("/nonexistent/monsys/policy.json");
    REQUIRE(policy);
    CHECK(policy->allowed_types.size() == 4);
}
