#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "agent/inventory/discovery.hpp"
#include "agent/inventory/docker_containers.hpp"
#include "common/inventory/observed_state.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;
namespace docker = monsys::io::docker;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::vector<Container> containers_from(const std::string& recording) {
    auto summaries = docker::decode_container_list(read_text(fixture(recording)));
    REQUIRE(summaries);
    std::vector<Container> containers;
    for (const auto& summary : *summaries) containers.push_back(to_container(summary));
    return containers;
}

}  // namespace

TEST_CASE("docker: a recorded Docker list, with compose services") {
    auto containers = containers_from("docker/containers_docker.json");
    REQUIRE(containers.size() == 4);
    CHECK(containers[0].name == "flowd_dev-app-1");
    CHECK(containers[0].image == "flowd/app:1.4");
    CHECK(containers[0].created_unix == 1700000100);
    CHECK(containers[0].labels.at("com.docker.compose.service") == "app");
    CHECK_FALSE(containers[0].restart_count);
    CHECK(containers[3].labels.empty());

    auto services = group_compose_services(containers);
    REQUIRE(services.size() == 2);
    CHECK(services[0].identifier() == "flowd_dev::app");
    CHECK(services[0].containers == std::vector<std::string>{"flowd_dev-app-1", "flowd_dev-app-2"});
    CHECK(services[0].running == 1);
    auto app = observe_compose_service(services[0]);
    CHECK(app.state == AppState::stopped);
    CHECK(app.detail == "1/2 running");
    CHECK(observe_compose_service(services[1]).state == AppState::running);
    CHECK(observe_container(containers[1]).state == AppState::stopped);  // restarting
}

TEST_CASE("docker: a recorded podman list and inspect") {
    auto containers = containers_from("docker/containers_podman.json");
    REQUIRE(containers.size() == 3);
    auto by_name = [&containers](const std::string& name) -> Container& {
        for (auto& c : containers) {
            if (c.name == name) return c;
        }
        FAIL("no container " << name);
        return containers.front();
    };
    CHECK(by_name("invprobe1").state == "running");
    // podman says "stopped" where Docker says "exited".
    CHECK(observe_container(by_name("invprobe2")).state == AppState::stopped);
    CHECK(observe_container(by_name("invprobe3")).state == AppState::stopped);

    auto inspected = docker::decode_container_inspect(
        read_text(fixture("docker/inspect_podman_restarting.json")));
    REQUIRE(inspected);
    Container& flapping = by_name("invprobe2");
    apply_inspect(flapping, *inspected);
    REQUIRE(flapping.restart_count);
    CHECK(*flapping.restart_count > 0);
    REQUIRE(flapping.started_at);
    CHECK(flapping.started_at->rfind("2026-", 0) == 0);

    auto services = group_compose_services(containers);
    REQUIRE(services.size() == 1);
    CHECK(services[0].identifier() == "p1::app");
    CHECK(services[0].running == 1);
    CHECK(services[0].containers.size() == 2);
}

TEST_CASE("docker: discovery offers containers and compose services with their state") {
    Inventory inventory;
    inventory.docker.emplace();
    inventory.docker->containers = containers_from("docker/containers_docker.json");
    inventory.docker->compose_services = group_compose_services(inventory.docker->containers);
    auto rows = discover_apps(inventory, {});
    REQUIRE(rows.size() == 6);
    CHECK(rows[0].type == monsys::app::AppType::docker);
    CHECK(rows[0].identifier == "flowd_dev-app-1");
    CHECK(rows[0].state == AppState::running);
    CHECK(rows[3].identifier == "mycontainer");
    CHECK(rows[3].state == AppState::stopped);
    CHECK(rows[4].type == monsys::app::AppType::compose);
    CHECK(rows[4].identifier == "flowd_dev::app");
    CHECK(rows[4].name == "app");
    CHECK(rows[4].state == AppState::stopped);
    CHECK(rows[5].identifier == "flowd_dev::db");
}
