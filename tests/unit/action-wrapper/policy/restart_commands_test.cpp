// The policy's restart_commands: the only way a process app gets restarted.
#include <doctest/doctest.h>

#include "action-wrapper/policy/local_policy.hpp"

using monsys::action::check_policy_allows;
using monsys::action::is_valid_restart_entry_name;
using monsys::action::LocalPolicy;
using monsys::action::parse_policy;
using monsys::action::restart_entry_for;
using monsys::app::AppRef;
using monsys::app::AppType;

namespace {

AppRef process_app(std::string path, std::string command) {
    return AppRef{"app-1", AppType::process, std::move(path), std::move(command)};
}

std::string error_of(const std::string& text) {
    auto policy = parse_policy(text);
    REQUIRE_FALSE(policy);
    return policy.error();
}

}  // namespace

TEST_CASE("restart_commands: an entry maps an app and its command to a user") {
    auto policy = parse_policy(R"({
      // the operator's one step
      "restart_commands": {
        "accapp": {"app": "/opt/accapp/run", "command": "/opt/accapp/restart", "user": "root"},
        "web_2-x": {"app": "/srv/web/bin/web", "command": "/srv/web/restart", "user": "www-data"}
      }
    })");
    REQUIRE(policy);
    REQUIRE(policy->restart_commands.size() == 2);
    const auto& entry = policy->restart_commands.at("web_2-x");
    CHECK(entry.app == "/srv/web/bin/web");
    CHECK(entry.command == "/srv/web/restart");
    CHECK(entry.user == "www-data");

    auto app = process_app("/opt/accapp/run", "/opt/accapp/restart");
    CHECK(check_policy_allows(*policy, app));
    CHECK(restart_entry_for(*policy, app) == "accapp");
}

TEST_CASE("restart_commands: without an entry for both path and command, nothing is restarted") {
    auto policy = parse_policy(R"({"restart_commands": {
        "accapp": {"app": "/opt/accapp/run", "command": "/opt/accapp/restart", "user": "root"}}})");
    REQUIRE(policy);
    policy->path = "/etc/monsys/policy.json";

    // Another command for the same app, the same command for another app: both refused.
    for (const auto& app : {process_app("/opt/accapp/run", "/tmp/evil"),
                            process_app("/opt/other/run", "/opt/accapp/restart")}) {
        CAPTURE(app.identifier);
        CHECK_FALSE(restart_entry_for(*policy, app));
        auto allowed = check_policy_allows(*policy, app);
        REQUIRE_FALSE(allowed);
        const std::string& refusal = allowed.error();
        CHECK(refusal.find("/etc/monsys/policy.json") != std::string::npos);
        // It shows the entry root would add.
        CHECK(refusal.find("\"app\": \"" + app.identifier + "\"") != std::string::npos);
        CHECK(refusal.find("\"command\": \"" + app.restart_command + "\"") != std::string::npos);
    }

    // The defaults (no policy file) have no entries.
    LocalPolicy defaults;
    auto allowed = check_policy_allows(defaults, process_app("/opt/a/run", "/opt/a/restart"));
    REQUIRE_FALSE(allowed);
    CHECK(allowed.error() ==
          "no entry of restart_commands in " + defaults.path.string() +
              " allows /opt/a/restart for /opt/a/run; to allow it, "
              "root adds one: \"restart_commands\": {\"<name>\": {\"app\": \"/opt/a/run\", "
              "\"command\": \"/opt/a/restart\", \"user\": \"<user>\"}}");
}

TEST_CASE("restart_commands: each missing field is named") {
    CHECK(error_of(R"({"restart_commands": {"a": {"command": "/x", "user": "root"}}})") ==
          "field 'restart_commands': entry 'a': 'app' is missing");
    CHECK(error_of(R"({"restart_commands": {"a": {"app": "/x", "user": "root"}}})") ==
          "field 'restart_commands': entry 'a': 'command' is missing");
    CHECK(error_of(R"({"restart_commands": {"a": {"app": "/x", "command": "/y"}}})") ==
          "field 'restart_commands': entry 'a': 'user' is missing");
    CHECK(error_of(R"({"restart_commands": {"a": {"app": "/x", "command": "/y", "user": ""}}})") ==
          "field 'restart_commands': entry 'a': 'user' must be a non-empty string");
    CHECK(error_of(R"({"restart_commands": {"a": {"app": "/x", "command": 7, "user": "u"}}})") ==
          "field 'restart_commands': entry 'a': 'command' must be a non-empty string");
    CHECK(error_of(R"({"restart_commands": {"a": {"app": "/x", "command": "/y", "user": "u",
                                                  "env": "X=1"}}})")
              .find("unknown field 'env'") != std::string::npos);
    CHECK(error_of(R"({"restart_commands": {"a": "/x"}})").find("must be an object") !=
          std::string::npos);
    CHECK(error_of(R"({"restart_commands": ["/x"]})")
              .find("field 'restart_commands': must be an object") == 0);
}

TEST_CASE("restart_commands: paths must be absolute") {
    CHECK(
        error_of(R"({"restart_commands": {"a": {"app": "run", "command": "/y", "user": "u"}}})") ==
        "field 'restart_commands': entry 'a': 'app' must be an absolute path");
    CHECK(error_of(
              R"({"restart_commands": {"a": {"app": "/x", "command": "bin/r", "user": "u"}}})") ==
          "field 'restart_commands': entry 'a': 'command' must be an absolute path");
}

TEST_CASE("restart_commands: entry names are unit instance names that need no escaping") {
    for (const char* good : {"a", "0", "accapp", "web_2-x", "a-b-c"}) {
        CAPTURE(good);
        CHECK(is_valid_restart_entry_name(good));
    }
    CHECK(is_valid_restart_entry_name(std::string(64, 'a')));
    CHECK_FALSE(is_valid_restart_entry_name(std::string(65, 'a')));
    for (const char* bad :
         {"", "-a", "_a", "Acc", "acc app", "a.b", "a/b", "a@b", "a\\x2d", "../x", "a:b"}) {
        CAPTURE(bad);
        CHECK_FALSE(is_valid_restart_entry_name(bad));
    }
    auto error =
        error_of(R"({"restart_commands": {"Acc": {"app": "/x", "command": "/y", "user": "u"}}})");
    CHECK(error.find("entry 'Acc': not a valid entry name") != std::string::npos);
}

TEST_CASE("restart_commands: the old allowed_restart_commands is an error that says what to do") {
    CHECK(error_of(R"({"allowed_restart_commands": ["/opt/*/restart"]})") ==
          "field 'allowed_restart_commands': replaced by restart_commands, see docs/security.md");
    CHECK(error_of(R"({"allowed_restart_commands": []})").find("replaced by restart_commands") !=
          std::string::npos);
}
