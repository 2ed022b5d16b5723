#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "agent/inventory/collect.hpp"
#include "common/inventory/observed_state.hpp"
#include "inventory_env.hpp"

using namespace monsys::inventory;
using namespace monsys::inventory::test;
using monsys::app::AppType;

namespace {

InventorySettings docker_settings(const std::string& socket) {
    testenv();
    InventorySettings settings;
    settings.systemd_bus = monsys::io::SystemdBusSettings::Kind::user;
    settings.docker_socket = socket;
    return settings;
}

const Container* find_container(const Inventory& inventory, const std::string& name) {
    for (const Container& container : inventory.docker->containers) {
        if (container.name == name) return &container;
    }
    return nullptr;
}

std::string podman(const std::string& args) {
    return shell("podman " + args + " 2>&1");
}

struct ContainersUnderTest {
    std::string id = unique_suffix();
    std::string image = env("MONSYS_TEST_IMAGE");
    std::string running = "inv-run-" + id;
    std::string exited = "inv-exit-" + id;
    std::string restarting = "inv-flap-" + id;
    std::string project = "invp" + id;
    std::vector<std::string> compose = {project + "-web-1", project + "-web-2", project + "-web-3"};

    void run(const std::string& name, const std::string& extra, const std::string& command) {
        int status = 0;
        std::string out = shell("podman run -d --network none --name " + name + " " + extra + " " +
                                    image + " " + command + " 2>&1",
                                &status);
        REQUIRE_MESSAGE(status == 0, out);
    }
    ContainersUnderTest() {
        run(running, "", "/bin/sleep 100000");
        run(exited, "", "/bin/true");
        run(restarting, "--restart=always", "/bin/false");
        std::string labels = "--label com.docker.compose.project=" + project +
                             " --label com.docker.compose.service=web";
        run(compose[0], labels, "/bin/sleep 100000");
        run(compose[1], labels, "/bin/sleep 100000");
        run(compose[2], labels, "/bin/true");
        REQUIRE(wait_for([this] {
            return podman("inspect -f '{{.State.Status}}' " + exited) == "exited" &&
                   podman("inspect -f '{{.State.Status}}' " + compose[2]) == "exited";
        }));
        REQUIRE(wait_for([this] {
            return std::atoi(podman("inspect -f '{{.RestartCount}}' " + restarting).c_str()) >= 1;
        }));
    }
    ~ContainersUnderTest() {
        std::string names = running + " " + exited + " " + restarting;
        for (const auto& name : compose) names += " " + name;
        podman("rm -f -t 0 " + names);
    }
};

}  // namespace

TEST_CASE("inventory/docker: running, exited and restarting containers and a compose service") {
    ContainersUnderTest containers;
    CollectRequest request;
    request.settings = docker_settings(env("MONSYS_TEST_DOCKER_SOCKET"));
    request.sections = {Section::docker};
    auto result = collect_inventory(request);
    const Inventory& inventory = result.inventory;
    REQUIRE(inventory.docker);
    REQUIRE_MESSAGE(inventory.docker->status.ok(), *inventory.docker->status.error);
    CHECK_FALSE(inventory.docker->api_version.empty());
    CHECK(inventory.docker->inspect_skipped == 0);

    const Container* running = find_container(inventory, containers.running);
    REQUIRE(running);
    CHECK(running->state == "running");
    CHECK(running->image == containers.image);
    CHECK(running->id.size() == 64);
    // Running containers are not inspected: the list's status says how long they have run.
    CHECK_FALSE(running->restart_count);
    CHECK(running->created_unix > 0);
    CHECK(observe_container(*running).state == AppState::running);

    const Container* exited = find_container(inventory, containers.exited);
    REQUIRE(exited);
    CHECK(exited->state == "exited");
    CHECK(observe_container(*exited).state == AppState::stopped);

    const Container* restarting = find_container(inventory, containers.restarting);
    REQUIRE(restarting);
    // Between two attempts it may briefly run /bin/false: a crash loop is never "running" for long.
    if (restarting->state != "running") {
        REQUIRE(restarting->restart_count);
        CHECK(*restarting->restart_count >= 1);
        CHECK(restarting->started_at);
        CHECK(observe_container(*restarting).state == AppState::stopped);
    }
    REQUIRE(exited->restart_count);
    CHECK(*exited->restart_count == 0);

    const Container* member = find_container(inventory, containers.compose[0]);
    REQUIRE(member);
    CHECK(member->labels.at("com.docker.compose.project") == containers.project);

    const ComposeService* service = nullptr;
    for (const auto& row : inventory.docker->compose_services) {
        if (row.identifier() == containers.project + "::web") service = &row;
    }
    REQUIRE(service);
    CHECK(service->containers == containers.compose);
    CHECK(service->running == 2);
    auto observed = observe(inventory, AppType::compose, containers.project + "::web", {});
    CHECK(observed.state == AppState::stopped);
    CHECK(observed.detail == "2/3 running");

    bool offered_compose = false, offered_container = false;
    for (const auto& row : inventory.discovered) {
        if (row.type == AppType::compose && row.identifier == containers.project + "::web") {
            offered_compose = row.state == AppState::stopped;
        }
        if (row.type == AppType::docker && row.identifier == containers.running) {
            offered_container = row.state == AppState::running;
        }
    }
    CHECK(offered_compose);
    CHECK(offered_container);
}

TEST_CASE("inventory/docker: a missing socket fails the section quickly, apps unknown") {
    auto settings = docker_settings("/nonexistent/monsys/docker.sock");
    CollectRequest request;
    request.settings = settings;
    request.sections = {Section::docker, Section::packages};
    auto started = std::chrono::steady_clock::now();
    auto result = collect_inventory(request);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    REQUIRE(result.inventory.docker);
    CHECK_FALSE(result.inventory.docker->status.ok());
    CHECK(result.inventory.packages->status.ok());
    CHECK(observe(result.inventory, AppType::docker, "web", {}).state == AppState::unknown);
    CHECK(observe(result.inventory, AppType::compose, "p::s", {}).state == AppState::unknown);
}

TEST_CASE("inventory/docker: a socket that accepts and never answers gives up at the timeout") {
    std::string dir = "/tmp/monsys-inv-silent-" + unique_suffix();
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    std::string path = dir + "/docker.sock";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    // Connections complete in the backlog; nobody ever reads or writes.
    REQUIRE(::listen(listener, 64) == 0);

    auto settings = docker_settings(path);
    settings.source_timeout = std::chrono::milliseconds(1000);
    CollectRequest request;
    request.settings = settings;
    request.sections = {Section::docker, Section::processes};
    auto started = std::chrono::steady_clock::now();
    auto result = collect_inventory(request);
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < std::chrono::milliseconds(1500));
    REQUIRE(result.inventory.docker);
    CHECK_FALSE(result.inventory.docker->status.ok());
    CHECK(result.inventory.processes->status.ok());
    CHECK(observe(result.inventory, AppType::docker, "web", {}).state == AppState::unknown);
    ::close(listener);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}
