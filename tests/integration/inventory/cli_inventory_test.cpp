#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "agent/inventory/inventory_command.hpp"
#include "common/json/capped_json.hpp"
#include "inventory_env.hpp"

using namespace monsys::inventory::test;

namespace {

struct ConfigFile {
    std::string path = "/tmp/monsys-inv-config-" + unique_suffix() + ".json";
    explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
    ~ConfigFile() { std::remove(path.c_str()); }
};

monsys::json::Json parse_document(const std::string& text) {
    monsys::json::Limits limits;
    limits.max_bytes = 64 << 20;
    limits.reject_duplicate_keys = true;
    auto parsed = monsys::json::parse(text, limits);
    REQUIRE(parsed);
    return *parsed;
}

}  // namespace

TEST_CASE("inventory command: every section from the test environment, exit 0") {
    ConfigFile config(R"({"systemd_bus": "user", "docker_socket": ")" +
                      env("MONSYS_TEST_DOCKER_SOCKET") + R"(", "source_timeout_secs": 5})");
    monsys::agent::InventoryCommandOptions options;
    options.config_path = config.path;
    std::ostringstream out, err;
    auto result = monsys::agent::run_inventory_command(options, out, err);
    CHECK_MESSAGE(result.exit_status == monsys::agent::exit_complete, err.str());
    auto document = parse_document(out.str());
    CHECK(document["schema_version"] == 1);
    for (const char* section : {"host", "systemd", "docker", "processes", "packages", "ports"}) {
        CAPTURE(section);
        REQUIRE(document.contains(section));
        CHECK(document[section]["ok"] == true);
        CHECK(document[section]["error"].is_null());
    }
    CHECK(document["systemd"]["bus"] == "user");
    CHECK(document["packages"]["manager"] == "dpkg");
    CHECK(document["packages"]["packages"].size() > 10);
    CHECK(document["host"]["agent_version"].get<std::string>().rfind("0.1.0+", 0) == 0);
    CHECK(document["discovered"].is_array());
}

TEST_CASE("inventory command: an unavailable source is reported, the rest produced, exit 3") {
    ConfigFile config(R"({"systemd_bus": "user", "docker_socket": "/nonexistent/docker.sock"})");
    monsys::agent::InventoryCommandOptions options;
    options.config_path = config.path;
    options.sections = "docker,processes";
    std::ostringstream out, err;
    auto result = monsys::agent::run_inventory_command(options, out, err);
    CHECK(result.exit_status == monsys::agent::exit_incomplete);
    CHECK(err.str().find("docker") != std::string::npos);
    auto document = parse_document(out.str());
    CHECK(document["docker"]["ok"] == false);
    CHECK(document["docker"]["error"].is_string());
    CHECK(document["processes"]["ok"] == true);
    CHECK_FALSE(document.contains("systemd"));
}

TEST_CASE("inventory command: a broken configuration or section list is a one-line error") {
    ConfigFile config("{\"systemd_bus\": \"sideways\"}");
    monsys::agent::InventoryCommandOptions options;
    options.config_path = config.path;
    std::ostringstream out, err;
    CHECK(monsys::agent::run_inventory_command(options, out, err).exit_status ==
          monsys::agent::exit_usage);
    CHECK(out.str().empty());
    std::string message = err.str();
    CHECK(std::count(message.begin(), message.end(), '\n') == 1);

    monsys::agent::InventoryCommandOptions missing_config;
    missing_config.config_path = "/nonexistent/monsys/agent.json";
    std::ostringstream out2, err2;
    CHECK(monsys::agent::run_inventory_command(missing_config, out2, err2).exit_status ==
          monsys::agent::exit_usage);

    ConfigFile good("{}");
    monsys::agent::InventoryCommandOptions bad_section;
    bad_section.config_path = good.path;
    bad_section.sections = "systemd,bogus";
    std::ostringstream out3, err3;
    CHECK(monsys::agent::run_inventory_command(bad_section, out3, err3).exit_status ==
          monsys::agent::exit_usage);
    CHECK(err3.str().find("bogus") != std::string::npos);
}
