#include <doctest/doctest.h>

#include <fstream>

#include "agent/inventory/collect.hpp"
#include "common/inventory/observed_state.hpp"
#include "inventory_env.hpp"

using namespace monsys::inventory;
using namespace monsys::inventory::test;
using monsys::app::AppType;

namespace {

InventorySettings user_bus_settings() {
    testenv();
    InventorySettings settings;
    settings.systemd_bus = monsys::io::SystemdBusSettings::Kind::user;
    settings.docker_socket = env("MONSYS_TEST_DOCKER_SOCKET");
    return settings;
}

const Unit* find_unit(const Inventory& inventory, const std::string& name) {
    for (const Unit& unit : inventory.systemd->units) {
        if (unit.name == name) return &unit;
    }
    return nullptr;
}

std::string systemctl(const std::string& args) {
    return shell("systemctl --user " + args + " 2>&1");
}

struct UnitsUnderTest {
    std::string id = unique_suffix();
    std::string running = "inv-run-" + id + ".service";
    std::string failed = "inv-fail-" + id + ".service";
    std::string flapping = "inv-flap-" + id + ".service";
    std::string stopped = "inv-stop-" + id + ".service";
    std::string installed = "inv-idle-" + id + ".service";
    std::string unit_dir = env("MONSYS_TEST_USER_UNIT_DIR");

    UnitsUnderTest() {
        for (const auto& name : {stopped, installed}) {
            std::ofstream(unit_dir + "/" + name)
                << "[Unit]\nDescription=inventory test " << name
                << "\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=default.target\n";
        }
        systemctl("daemon-reload");
        shell("systemd-run --user --unit=" + running + " /bin/sleep 1000 2>&1");
        shell("systemd-run --user --unit=" + failed + " /bin/false 2>&1");
        shell("systemd-run --user --unit=" + flapping +
              " -p Restart=always -p RestartSec=30 /bin/false 2>&1");
        systemctl("start " + stopped);
        systemctl("stop " + stopped);
        REQUIRE(wait_for([this] { return systemctl("is-failed " + failed) == "failed"; }));
        REQUIRE(wait_for([this] {
            return systemctl("show -p SubState --value " + flapping) == "auto-restart";
        }));
    }
    ~UnitsUnderTest() {
        systemctl("stop " + running + " " + flapping + " " + stopped);
        systemctl("reset-failed " + failed + " " + flapping);
        std::remove((unit_dir + "/" + stopped).c_str());
        std::remove((unit_dir + "/" + installed).c_str());
        systemctl("daemon-reload");
    }
};

}  // namespace

TEST_CASE("inventory/systemd: units running, stopped, failed, flapping, installed and transient") {
    UnitsUnderTest units;
    CollectRequest request;
    request.settings = user_bus_settings();
    request.sections = {Section::systemd};
    auto result = collect_inventory(request);
    const Inventory& inventory = result.inventory;
    REQUIRE(inventory.systemd);
    REQUIRE_MESSAGE(inventory.systemd->status.ok(), *inventory.systemd->status.error);
    CHECK(inventory.systemd->bus == "user");
    CHECK(inventory.systemd->details_skipped == 0);

    const Unit* running = find_unit(inventory, units.running);
    REQUIRE(running);
    CHECK(running->load_state == "loaded");
    CHECK(running->active_state == "active");
    CHECK(running->sub_state == "running");
    CHECK(running->description == "/bin/sleep 1000");
    std::string main_pid = systemctl("show -p MainPID --value " + units.running);
    REQUIRE(running->main_pid);
    CHECK(std::to_string(*running->main_pid) == main_pid);
    REQUIRE(running->since_unix_usec);
    auto now_usec = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    CHECK(*running->since_unix_usec <= now_usec);
    CHECK(*running->since_unix_usec > now_usec - 600LL * 1000000);
    // Transient units have their file under the runtime directory, listed as "transient".
    CHECK(running->unit_file_state == "transient");
    CHECK(observe_unit(*running).state == AppState::running);

    const Unit* failed = find_unit(inventory, units.failed);
    REQUIRE(failed);
    CHECK(failed->active_state == "failed");
    CHECK(observe_unit(*failed).state == AppState::stopped);

    const Unit* flapping = find_unit(inventory, units.flapping);
    REQUIRE(flapping);
    CHECK(flapping->active_state == "activating");
    CHECK(flapping->sub_state == "auto-restart");
    CHECK(observe_unit(*flapping).state == AppState::stopped);

    const Unit* stopped = find_unit(inventory, units.stopped);
    REQUIRE(stopped);
    CHECK(stopped->active_state == "inactive");
    CHECK(stopped->unit_file_state == "disabled");
    CHECK(stopped->fragment_path == units.unit_dir + "/" + units.stopped);
    CHECK(observe_unit(*stopped).state == AppState::stopped);

    const Unit* installed = find_unit(inventory, units.installed);
    REQUIRE(installed);
    CHECK(installed->load_state == "not-loaded");
    CHECK(installed->active_state == "inactive");
    CHECK(installed->unit_file_state == "disabled");
    CHECK(installed->fragment_path == units.unit_dir + "/" + units.installed);
    CHECK(observe_unit(*installed).state == AppState::stopped);

    auto discovered = [&inventory](const std::string& identifier) -> const DiscoveredApp* {
        for (const auto& row : inventory.discovered) {
            if (row.type == AppType::systemd && row.identifier == identifier) return &row;
        }
        return nullptr;
    };
    REQUIRE(discovered(units.running));
    CHECK(discovered(units.running)->state == AppState::running);
    CHECK(discovered(units.running)->name == "inv-run-" + units.id);
    REQUIRE(discovered(units.installed));
    CHECK(discovered(units.installed)->state == AppState::stopped);
    CHECK(discovered(units.failed)->state == AppState::stopped);
}

TEST_CASE("inventory/systemd: a bus that is not there makes the section fail, apps unknown") {
    testenv();
    std::string saved = env("DBUS_SESSION_BUS_ADDRESS");
    ::setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/monsys-inventory-bus", 1);
    CollectRequest request;
    request.settings = user_bus_settings();
    request.sections = {Section::systemd, Section::packages};
    auto result = collect_inventory(request);
    ::setenv("DBUS_SESSION_BUS_ADDRESS", saved.c_str(), 1);
    REQUIRE(result.inventory.systemd);
    CHECK_FALSE(result.inventory.systemd->status.ok());
    CHECK(result.inventory.packages->status.ok());
    CHECK_FALSE(is_complete(result.inventory));
    CHECK(observe(result.inventory, AppType::systemd, "anything.service", {}).state ==
          AppState::unknown);
}
