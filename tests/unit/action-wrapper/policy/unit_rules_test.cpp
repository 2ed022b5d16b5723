#include <doctest/doctest.h>

#include <algorithm>

#include "action-wrapper/policy/unit_rules.hpp"

using monsys::action::builtin_denied_units;
using monsys::action::check_unit_allowed;
using monsys::action::check_unit_name_allowed;
using monsys::action::UnitNames;

namespace {

// The refusal's text, or "" when the unit is allowed (a refusal is never empty: checked here).
std::string refusal(const UnitNames& unit, const std::vector<std::string>& policy_denied = {}) {
    auto allowed = check_unit_allowed(unit, policy_denied);
    if (allowed) return "";
    CHECK_FALSE(allowed.error().empty());
    return allowed.error();
}

std::string refusal(const std::string& name, const std::vector<std::string>& policy_denied = {}) {
    auto allowed = check_unit_name_allowed(name, policy_denied);
    if (allowed) return "";
    CHECK_FALSE(allowed.error().empty());
    return allowed.error();
}

}  // namespace

TEST_CASE("unit rules: ordinary services and instances of templates are allowed") {
    for (const char* name : {"nginx.service", "app@blue.service", "monsys-test-1.service",
                             "postgresql@15-main.service", "a.service"}) {
        CAPTURE(name);
        CHECK(refusal(name) == "");
    }
    CHECK(refusal(UnitNames{"nginx.service", "nginx.service", {"nginx.service", "www.service"}}) ==
          "");
}

TEST_CASE("unit rules: a unit that is not a service is refused") {
    CHECK(refusal("poweroff.target") ==
          "poweroff.target is not a service: only .service units are restarted");
    for (const char* name : {"foo.slice", "foo.mount", "init.scope", "-.slice", "dbus.socket",
                             "x.timer", "x.path", "x.swap", "x.device", "x.automount", "nginx",
                             "nginx.service.d", ".service", "nginx.SERVICE", ""}) {
        CAPTURE(name);
        CHECK(refusal(name).find("is not a service: only .service units are restarted") !=
              std::string::npos);
    }
}

TEST_CASE("unit rules: a template without an instance is refused") {
    CHECK(refusal("getty@.service") ==
          "getty@.service is a template without an instance: only its instances "
          "(getty@NAME.service) are restarted");
    CHECK(refusal("app@.service") ==
          "app@.service is a template without an instance: only its instances "
          "(app@NAME.service) are restarted");
    CHECK(refusal("@.service").find("template without an instance") != std::string::npos);
}

TEST_CASE("unit rules: the built-in deny list") {
    CHECK(refusal("debug-shell.service") == "debug-shell.service is on the built-in deny list");
    for (const char* name : {"emergency.service",
                             "rescue.service",
                             "systemd-logind.service",
                             "systemd-journald.service",
                             "systemd-udevd.service",
                             "getty@tty1.service",
                             "serial-getty@ttyS0.service",
                             "console-getty.service",
                             "container-getty@1.service",
                             "autovt@tty2.service",
                             "dbus.service",
                             "dbus-broker.service",
                             "dbus-org.freedesktop.login1.service",
                             "polkit.service",
                             "user@0.service",
                             "user@1000.service",
                             "user-runtime-dir@1000.service",
                             "monsys-agent.service",
                             "monsys-agent-once.service",
                             "monsys-action@0-1-2.service",
                             "monsys-restart@accapp.service"}) {
        CAPTURE(name);
        CHECK(refusal(name) == std::string(name) + " is on the built-in deny list");
    }
    // Near misses are ordinary services.
    for (const char* name : {"debug-shell2.service", "mysystemd-x.service", "my-getty@1.service",
                             "dbusx.service", "monsys-agent2.service", "polkitd.service"}) {
        CAPTURE(name);
        CHECK(refusal(name) == "");
    }
}

TEST_CASE("unit rules: the policy's denied_units add to the built-in list") {
    const std::vector<std::string> denied = {"postgresql*.service", "sshd.service"};
    CHECK(refusal("postgresql@15-main.service", denied) ==
          "postgresql@15-main.service is on the local policy's deny list (denied_units)");
    CHECK(refusal("sshd.service", denied) ==
          "sshd.service is on the local policy's deny list (denied_units)");
    CHECK(refusal("nginx.service", denied) == "");
    // Built-in entries stay, whatever the policy lists.
    CHECK(refusal("debug-shell.service", denied) ==
          "debug-shell.service is on the built-in deny list");
    CHECK(refusal("debug-shell.service", {}) == "debug-shell.service is on the built-in deny list");
}

TEST_CASE("unit rules: an alias of a denied unit is refused, naming both") {
    // dbus-org.freedesktop.login1.service is the bus-activation alias of logind.
    UnitNames logind{"dbus-org.freedesktop.login1.service",
                     "systemd-logind.service",
                     {"systemd-logind.service", "dbus-org.freedesktop.login1.service"}};
    CHECK(refusal(logind) ==
          "dbus-org.freedesktop.login1.service is an alias of systemd-logind.service, which is on "
          "the built-in deny list");

    UnitNames innocent_alias{"www.service", "sshd.service", {"sshd.service", "www.service"}};
    CHECK(refusal(innocent_alias, {"sshd.service"}) ==
          "www.service is an alias of sshd.service, which is on the local policy's deny list "
          "(denied_units)");
    CHECK(refusal(innocent_alias) == "");
}

TEST_CASE("unit rules: a unit with a denied alias is refused by its real name too") {
    UnitNames by_id{"web.service", "web.service", {"web.service", "debug-shell.service"}};
    CHECK(refusal(by_id) ==
          "web.service is also named debug-shell.service, which is on the built-in deny list");

    UnitNames by_other_alias{
        "www.service", "web.service", {"web.service", "www.service", "emergency.service"}};
    CHECK(refusal(by_other_alias) ==
          "www.service is an alias of web.service, also named emergency.service, which is on the "
          "built-in deny list");
}

TEST_CASE("unit rules: an alias that resolves to a non-service is refused") {
    UnitNames to_target{"halt.service", "poweroff.target", {"poweroff.target"}};
    CHECK(refusal(to_target) ==
          "halt.service is an alias of poweroff.target, which is not a service: only .service "
          "units are restarted");
}

TEST_CASE("unit rules: the requested name is judged even when systemd does not list it") {
    UnitNames odd{"debug-shell.service", "web.service", {"web.service"}};
    CHECK(refusal(odd) == "debug-shell.service is on the built-in deny list");
}

TEST_CASE("unit rules: the built-in list holds the design's patterns") {
    const auto& list = builtin_denied_units();
    for (const char* pattern : {"debug-shell.service", "systemd-*.service", "getty@*.service",
                                "dbus-*.service", "user@*.service", "monsys-restart@*.service"}) {
        CAPTURE(pattern);
        CHECK(std::find(list.begin(), list.end(), pattern) != list.end());
    }
}
