#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>
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

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(MONSYS_SOURCE_DIR) + "/" + relative);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The config a package user writes: the four fields that have no default.
std::string minimal_config() {
    return std::string(R"({"agent_id": "host-01", "issuer": "https://hub.example",
        "hub_url": "wss://hub.example/agent", "hub_keys": {"hub-1": ")") +
           rfc8037_key + R"("}})";
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
    auto fields = monsys::config::check_fields_for_actions(*config);
    REQUIRE_FALSE(fields);
    CHECK(fields.error() == "field 'agent_id' is required");
}

TEST_CASE("config: a minimal config gets the packaged layout") {
    auto config = parse_config(minimal_config());
    REQUIRE(config);
    CHECK(monsys::config::check_fields_for_actions(*config));
    CHECK(config->state_dir == "/var/lib/monsys-action");
    CHECK(monsys::config::replay_store_path(*config) == "/var/lib/monsys-action/eat-replay.db");
    CHECK(config->hub_state_dir == "/var/lib/monsys/hub");
    CHECK(config->action_socket == "/run/monsys/action.sock");
    CHECK(config->restart_result_dir == "/run/monsys-restart");
    CHECK(config->hub_token_file == "/etc/monsys/agent.token");
    REQUIRE(config->action_command.size() == 1);
    CHECK(config->action_command.front() == "/usr/libexec/monsys/monsys-action");
}

TEST_CASE("config: the defaults are the directories and socket the package creates") {
    auto config = parse_config("{}");
    REQUIRE(config);
    // systemd-tmpfiles creates each directory with the owner and mode the wrappers check.
    std::istringstream tmpfiles(read_source_file("systemd/monsys-agent.tmpfiles"));
    std::set<std::string> dir_lines;  // "d PATH MODE USER GROUP", whitespace normalized
    for (std::string line; std::getline(tmpfiles, line);) {
        std::istringstream fields(line);
        std::string type, path, mode, user, group;
        if (fields >> type >> path >> mode >> user >> group && type == "d") {
            dir_lines.insert(path + " " + mode + " " + user + " " + group);
        }
    }
    auto line_for = [&dir_lines](const std::filesystem::path& dir, const std::string& rest) {
        return dir_lines.count(dir.string() + " " + rest) == 1;
    };
    CHECK(line_for(config->state_dir, "0750 monsys-action monsys"));
    CHECK(line_for(config->hub_state_dir, "0700 monsys monsys"));
    CHECK(line_for(config->hub_state_dir.parent_path(), "0750 monsys monsys"));
    CHECK(line_for(config->restart_result_dir, "0750 root monsys-action"));
    const std::string socket = read_source_file("systemd/monsys-action.socket");
    CHECK(socket.find("\nListenStream=" + config->action_socket.string() + "\n") !=
          std::string::npos);
}

TEST_CASE("config: the packaged agent.json changes none of the layout defaults") {
    auto packaged = parse_config(read_source_file("packaging/agent.json"));
    REQUIRE(packaged);
    auto defaults = parse_config("{}");
    REQUIRE(defaults);
    CHECK(packaged->state_dir == defaults->state_dir);
    CHECK(packaged->hub_state_dir == defaults->hub_state_dir);
    CHECK(packaged->action_socket == defaults->action_socket);
    CHECK(packaged->restart_result_dir == defaults->restart_result_dir);
}

TEST_CASE("config: action_socket \"\" turns the socket off; null keeps the default") {
    auto off = parse_config(R"({"action_socket": ""})");
    REQUIRE(off);
    CHECK(off->action_socket.empty());
    auto null = parse_config(R"({"action_socket": null})");
    REQUIRE(null);
    CHECK(null->action_socket == "/run/monsys/action.sock");
    auto other = parse_config(R"({"action_socket": "/run/x/action.sock"})");
    REQUIRE(other);
    CHECK(other->action_socket == "/run/x/action.sock");
}

TEST_CASE("config: hub_state_dir does not follow state_dir") {
    auto config = parse_config(R"({"state_dir": "/srv/replay"})");
    REQUIRE(config);
    CHECK(config->state_dir == "/srv/replay");
    CHECK(config->hub_state_dir == "/var/lib/monsys/hub");
    CHECK(error_of(R"({"hub_state_dir": ""})").find("'hub_state_dir'") != std::string::npos);
    CHECK(error_of(R"({"restart_result_dir": "run"})").find("'restart_result_dir'") !=
          std::string::npos);
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
        "state_dir": "/srv/monsys/replay",
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
    CHECK(monsys::config::replay_store_path(*config) == "/srv/monsys/replay/eat-replay.db");
    CHECK(monsys::config::check_fields_for_actions(*config));
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
