#include <doctest/doctest.h>

#include <string>

#include "common/config/config.hpp"

using monsys::config::BusKind;
using monsys::config::parse_config;

namespace {
// The public key of RFC 8037's example (appendix A.2), in standard base64.
constexpr const char* rfc8037_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::string error_of(const std::string& text) {
    auto config = parse_config(text);
    REQUIRE_FALSE(config);
    return config.error();
}
}  // namespace

TEST_CASE("config: an empty object gives the documented defaults") {
    auto config = parse_config("{}");
    REQUIRE(config);
    CHECK(config->clock_skew_secs == 30);
    CHECK(config->max_token_lifetime_secs == 300);
    CHECK(config->systemd_bus == BusKind::system);
    CHECK(config->docker_socket == "/var/run/docker.sock");
    CHECK(config->source_timeout_secs == 5);
    CHECK(config->restart_timeout_secs == 120);
    CHECK(config->output_cap_bytes == 65536);
    CHECK(config->state_interval_secs == 60);
    CHECK(config->inventory_interval_secs == 21600);
    CHECK(monsys::config::missing_for_actions(*config).has_value());
}

TEST_CASE("config: a full file with comments") {
    auto config = parse_config(std::string(R"({
        // who we are
        "agent_id": "host-01",
        "issuer": "https://hub.example",
        "hub_keys": {"hub-1": ")") +
                               rfc8037_key + R"("}, /* pinned */
        "clock_skew_secs": 10,
        "systemd_bus": "user",
        "docker_socket": "/run/podman/podman.sock",
        "state_dir": "/var/lib/monsys/eat",
        "action_command": ["/usr/bin/sudo", "-n", "-u", "monsys-action", "--", "/usr/libexec/monsys/monsys-action"],
        "tags": ["prod"],
        "hub_ca_file": null
    })");
    REQUIRE(config);
    CHECK(config->agent_id == "host-01");
    CHECK(config->hub_keys.count("hub-1") == 1);
    CHECK(config->hub_keys.at("hub-1")[0] == 0xd7);
    CHECK(config->clock_skew_secs == 10);
    CHECK(config->systemd_bus == BusKind::user);
    CHECK(config->action_command.size() == 6);
    CHECK(monsys::config::replay_store_path(*config) == "/var/lib/monsys/eat/eat-replay.db");
    CHECK_FALSE(monsys::config::missing_for_actions(*config).has_value());
}

TEST_CASE("config: every error names its field") {
    CHECK(error_of(R"({"agnet_id": "x"})").find("'agnet_id': unknown field") != std::string::npos);
    CHECK(error_of(R"({"agent_id": 5})").find("'agent_id': must be a string") != std::string::npos);
    CHECK(error_of(R"({"agent_id": ""})").find("'agent_id'") != std::string::npos);
    CHECK(error_of(R"({"clock_skew_secs": "30"})").find("'clock_skew_secs'") != std::string::npos);
    CHECK(error_of(R"({"clock_skew_secs": 30.5})").find("'clock_skew_secs'") != std::string::npos);
    CHECK(error_of(R"({"clock_skew_secs": -1})").find("between") != std::string::npos);
    CHECK(error_of(R"({"systemd_bus": "session"})").find("'systemd_bus'") != std::string::npos);
    CHECK(error_of(R"({"state_dir": "var/lib"})").find("absolute path") != std::string::npos);
    CHECK(error_of(R"({"hub_keys": {"k": "c2hvcnQ="}})").find("key \"k\"") != std::string::npos);
    CHECK(error_of(R"({"hub_keys": []})").find("'hub_keys'") != std::string::npos);
    CHECK(error_of(R"({"action_command": []})").find("'action_command'") != std::string::npos);
    CHECK(error_of(R"({"action_command": ["sudo"]})").find("absolute") != std::string::npos);
    CHECK(error_of(R"({"hub_url": "http://hub"})").find("'hub_url'") != std::string::npos);
    CHECK(error_of(R"({"agent_id": "a", "agent_id": "b"})").find("duplicate") != std::string::npos);
    CHECK(error_of("[1]").find("JSON object") != std::string::npos);
    CHECK(error_of("{").find("not valid JSON") != std::string::npos);
}

TEST_CASE("config: load_config names the path when the file is missing") {
    auto config = monsys::config::load_config("/nonexistent/monsys/agent.json");
    REQUIRE_FALSE(config);
    CHECK(config.error().find("/nonexistent/monsys/agent.json: cannot read") == 0);
}
