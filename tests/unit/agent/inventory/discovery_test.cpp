#include <doctest/doctest.h>

#include "agent/inventory/discovery.hpp"
#include "agent/inventory/processes.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::app::AppType;
using monsys::inventory::test::fixture;

TEST_CASE("discovery: service units only, no templates, no missing units") {
    Inventory inventory;
    inventory.systemd.emplace();
    auto unit = [](std::string name, std::string load, std::string active) {
        Unit u;
        u.name = std::move(name);
        u.load_state = std::move(load);
        u.active_state = std::move(active);
        u.sub_state = "x";
        return u;
    };
    inventory.systemd->units = {
        unit("nginx.service", "loaded", "active"), unit("getty@.service", "not-loaded", "inactive"),
        unit("idle.service", "not-loaded", "inactive"),
        unit("ghost.service", "not-found", "inactive"), unit("dbus.socket", "loaded", "active")};
    auto rows = discover_apps(inventory, {});
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].identifier == "idle.service");
    CHECK(rows[0].name == "idle");
    CHECK(rows[0].state == AppState::stopped);
    CHECK(rows[1].identifier == "nginx.service");
    CHECK(rows[1].state == AppState::running);
}

TEST_CASE("discovery: long-running processes by exe, scripts by their path") {
    ProcessScanOptions options;
    options.caller = Credentials{0, {0}};
    Inventory inventory;
    inventory.processes = read_processes(fixture("host1"), options);
    DiscoveryOptions discovery;
    discovery.now_unix = 1700000000 + 3600;
    discovery.min_process_age_secs = 60;
    auto rows = discover_apps(inventory, discovery);
    std::vector<std::string> identifiers;
    for (const auto& row : rows) {
        CHECK(row.type == AppType::process);
        CHECK(row.state == AppState::running);
        identifiers.push_back(row.identifier);
    }
    // Sorted; no kernel thread, nothing from another mount namespace, one row per path.
    CHECK(identifiers == std::vector<std::string>{"/opt/long/bin/long", "/opt/myapp/start.sh",
                                                  "/opt/tool/serve.py", "/srv/app/run.sh",
                                                  "/usr/bin/dash", "/usr/lib/systemd/systemd",
                                                  "/usr/sbin/nginx"});
    // Young processes are not offered.
    discovery.now_unix = 1700000000 + 65;
    auto young = discover_apps(inventory, discovery);
    CHECK(young.size() == 2);  // pids 1 and 100 started before that
}

TEST_CASE("discovery: a failed section offers nothing") {
    Inventory inventory;
    inventory.systemd.emplace();
    inventory.systemd->status.error = "bus down";
    Unit u;
    u.name = "nginx.service";
    u.load_state = "loaded";
    u.active_state = "active";
    inventory.systemd->units = {u};
    CHECK(discover_apps(inventory, {}).empty());
}
