#include <doctest/doctest.h>

#include "action-wrapper/policy/local_policy.hpp"

using monsys::action::check_policy_allows;
using monsys::action::LocalPolicy;
using monsys::action::parse_policy;
using monsys::app::AppRef;
using monsys::app::AppType;

namespace {
AppRef app(AppType type, std::string identifier, std::string command = {}) {
    return AppRef{"app-1", type, std::move(identifier), std::move(command)};
}

// The refusal's text, or "" when the policy allows the app (a refusal is never empty: checked).
std::string refusal(const LocalPolicy& policy, const AppRef& app) {
    auto allowed = check_policy_allows(policy, app);
    if (allowed) return "";
    CHECK_FALSE(allowed.error().empty());
    return allowed.error();
}
}  // namespace

TEST_CASE("policy: the defaults allow ordinary apps") {
    LocalPolicy policy;
    CHECK(check_policy_allows(policy, app(AppType::systemd, "nginx.service")));
    CHECK(check_policy_allows(policy, app(AppType::docker, "web1")));
    CHECK(check_policy_allows(policy, app(AppType::compose, "flowd_dev::app")));
    // A process app needs an entry of restart_commands (restart_commands_test.cpp).
}

TEST_CASE("policy: the bus daemon, PID 1's units and user managers are never restarted") {
    LocalPolicy policy;
    for (const char* unit : {"dbus.service", "dbus-broker.service", "init.scope", "-.slice",
                             "user@0.service", "user@1000.service", "systemd-journald.service"}) {
        CAPTURE(unit);
        auto allowed = check_policy_allows(policy, app(AppType::systemd, unit));
        REQUIRE_FALSE(allowed);
        CHECK(allowed.error().rfind(unit, 0) == 0);  // unit_rules_test.cpp checks the wording
    }
}

TEST_CASE("policy: dangerous units are refused by name, before the token is consumed") {
    LocalPolicy policy;
    CHECK(refusal(policy, app(AppType::systemd, "poweroff.target")) ==
          "poweroff.target is not a service: only .service units are restarted");
    CHECK(refusal(policy, app(AppType::systemd, "getty@.service"))
              .find("template without an instance") != std::string::npos);
    CHECK(refusal(policy, app(AppType::systemd, "debug-shell.service")) ==
          "debug-shell.service is on the built-in deny list");
    CHECK(refusal(policy, app(AppType::systemd, "monsys-restart@accapp.service")) ==
          "monsys-restart@accapp.service is on the built-in deny list");
}

TEST_CASE("policy: a file adds denied units and cannot remove the built-in ones") {
    auto policy = parse_policy(R"({"denied_units": ["postgresql*.service"]})");
    REQUIRE(policy);
    CHECK(refusal(*policy, app(AppType::systemd, "postgresql@15-main.service")) ==
          "postgresql@15-main.service is on the local policy's deny list (denied_units)");
    CHECK(refusal(*policy, app(AppType::systemd, "dbus.service")) ==
          "dbus.service is on the built-in deny list");
    CHECK(check_policy_allows(*policy, app(AppType::systemd, "nginx.service")));
}

TEST_CASE("policy: allowed types") {
    auto policy = parse_policy(R"({"allowed_types": ["systemd"]})");
    REQUIRE(policy);
    CHECK(check_policy_allows(*policy, app(AppType::systemd, "nginx.service")));
    CHECK(refusal(*policy, app(AppType::docker, "web1")) ==
          "the local policy does not allow restarting docker apps");
    CHECK_FALSE(check_policy_allows(*policy, app(AppType::process, "/opt/a", "/opt/a/restart")));
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
