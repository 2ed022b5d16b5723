#include <doctest/doctest.h>

#include <set>
#include <string>

#include "common/inventory/observed_state.hpp"

using namespace monsys::inventory;
using monsys::app::AppType;

namespace {

Unit unit(std::string name, std::string load, std::string active, std::string sub,
          std::optional<std::string> file_state = "enabled") {
    Unit u;
    u.name = std::move(name);
    u.load_state = std::move(load);
    u.active_state = std::move(active);
    u.sub_state = std::move(sub);
    u.unit_file_state = std::move(file_state);
    return u;
}

Container container(std::string name, std::string state, std::string project = "",
                    std::string service = "") {
    Container c;
    c.id = std::string(64, 'a');
    c.id.replace(0, name.size() < 64 ? name.size() : 64, std::string(name.size(), 'b'));
    c.name = std::move(name);
    c.state = std::move(state);
    c.status = "status text";
    if (!project.empty()) {
        c.labels["com.docker.compose.project"] = project;
        c.labels["com.docker.compose.service"] = service;
    }
    return c;
}

Inventory with_units(std::vector<Unit> units) {
    Inventory inventory;
    inventory.systemd.emplace();
    inventory.systemd->units = std::move(units);
    return inventory;
}

Process process(int pid, std::optional<std::string> exe, std::optional<std::string> script = {}) {
    Process p;
    p.pid = pid;
    p.exe = std::move(exe);
    p.script = std::move(script);
    return p;
}

const PathExists nothing_exists = [](const std::string&) { return false; };

}  // namespace

TEST_CASE("observed state: systemd active states") {
    struct Case {
        const char* active;
        const char* sub;
        AppState expected;
    } cases[] = {
        {"active", "running", AppState::running},
        {"active", "exited", AppState::running},
        {"reloading", "reload", AppState::running},
        {"inactive", "dead", AppState::stopped},
        {"failed", "failed", AppState::stopped},
        {"deactivating", "stop-sigterm", AppState::stopped},
        {"activating", "auto-restart", AppState::stopped},
        {"activating", "start", AppState::unknown},
        {"maintenance", "x", AppState::unknown},
    };
    for (const auto& c : cases) {
        CAPTURE(c.active);
        CAPTURE(c.sub);
        auto inventory = with_units({unit("web.service", "loaded", c.active, c.sub)});
        auto observed = observe(inventory, AppType::systemd, "web.service", nothing_exists);
        CHECK(observed.state == c.expected);
        CHECK(observed.detail.find(c.active) != std::string::npos);
    }
}

TEST_CASE("observed state: an installed unit that is not loaded is stopped") {
    auto inventory =
        with_units({unit("idle.service", "not-loaded", "inactive", "dead", "disabled")});
    auto observed = observe(inventory, AppType::systemd, "idle.service", nothing_exists);
    CHECK(observed.state == AppState::stopped);
    CHECK(observed.detail == "installed, not loaded");
}

TEST_CASE("observed state: a unit that exists nowhere is unknown") {
    auto inventory =
        with_units({unit("ghost.service", "not-found", "inactive", "dead", std::nullopt)});
    CHECK(observe(inventory, AppType::systemd, "ghost.service", nothing_exists).state ==
          AppState::unknown);
    CHECK(observe(inventory, AppType::systemd, "absent.service", nothing_exists).state ==
          AppState::unknown);
    // Masked but loaded as masked: it exists, and it is not running.
    auto masked = with_units({unit("m.service", "masked", "inactive", "dead", "masked")});
    CHECK(observe(masked, AppType::systemd, "m.service", nothing_exists).state ==
          AppState::stopped);
}

TEST_CASE("observed state: docker states") {
    const std::set<std::string> stopped_states = {"exited", "dead",       "created",
                                                  "paused", "restarting", "stopped"};
    for (const auto& state : stopped_states) {
        CAPTURE(state);
        Inventory inventory;
        inventory.docker.emplace();
        inventory.docker->containers = {container("web", state)};
        CHECK(observe(inventory, AppType::docker, "web", nothing_exists).state ==
              AppState::stopped);
    }
    Inventory inventory;
    inventory.docker.emplace();
    inventory.docker->containers = {container("web", "running"), container("odd", "weird")};
    auto running = observe(inventory, AppType::docker, "web", nothing_exists);
    CHECK(running.state == AppState::running);
    CHECK(running.detail == "running: status text");
    CHECK(observe(inventory, AppType::docker, "odd", nothing_exists).state == AppState::unknown);
    CHECK(observe(inventory, AppType::docker, "nope", nothing_exists).state == AppState::unknown);
    // By id prefix, as `docker ps` prints it.
    CHECK(observe(inventory, AppType::docker, "bbbaaaaaaaaa", nothing_exists).state ==
          AppState::running);
}

TEST_CASE("observed state: compose needs every container running") {
    ComposeService all_up{"flowd_dev", "app", {"a", "b", "c"}, 3};
    ComposeService one_down{"flowd_dev", "db", {"a", "b", "c"}, 2};
    Inventory inventory;
    inventory.docker.emplace();
    inventory.docker->compose_services = {all_up, one_down};
    auto up = observe(inventory, AppType::compose, "flowd_dev::app", nothing_exists);
    CHECK(up.state == AppState::running);
    CHECK(up.detail == "3/3 running");
    auto down = observe(inventory, AppType::compose, "flowd_dev::db", nothing_exists);
    CHECK(down.state == AppState::stopped);
    CHECK(down.detail == "2/3 running");
    CHECK(observe(inventory, AppType::compose, "flowd_dev::web", nothing_exists).state ==
          AppState::unknown);
}

TEST_CASE("observed state: processes by exe or by script") {
    Inventory inventory;
    inventory.processes.emplace();
    inventory.processes->processes = {process(10, "/usr/sbin/nginx"),
                                      process(11, "/usr/sbin/nginx"),
                                      process(12, "/usr/bin/dash", "/opt/myapp/start.sh"),
                                      process(13, "/opt/old/bin/app (deleted)")};
    auto nginx = observe(inventory, AppType::process, "/usr/sbin/nginx", nothing_exists);
    CHECK(nginx.state == AppState::running);
    CHECK(nginx.detail == "pid 10");  // the lowest pid
    CHECK(observe(inventory, AppType::process, "/opt/myapp/start.sh", nothing_exists).state ==
          AppState::running);
    CHECK(observe(inventory, AppType::process, "/opt/old/bin/app", nothing_exists).state ==
          AppState::running);
    PathExists exists = [](const std::string& path) { return path == "/opt/other/run"; };
    CHECK(observe(inventory, AppType::process, "/opt/other/run", exists).state ==
          AppState::stopped);
    auto gone = observe(inventory, AppType::process, "/opt/missing/run", exists);
    CHECK(gone.state == AppState::unknown);
    CHECK(gone.detail == "path does not exist");
}

TEST_CASE("observed state: a process in another mount namespace does not count") {
    Inventory inventory;
    inventory.processes.emplace();
    auto contained = process(10, "/bin/sleep");
    contained.foreign_root = true;
    inventory.processes->processes = {contained};
    PathExists exists = [](const std::string&) { return true; };
    CHECK(observe(inventory, AppType::process, "/bin/sleep", exists).state == AppState::stopped);
}

TEST_CASE("observed state: hidepid makes an absent process unknown, not stopped") {
    Inventory inventory;
    inventory.processes.emplace();
    inventory.processes->visibility.restricted = true;
    PathExists exists = [](const std::string&) { return true; };
    CHECK(observe(inventory, AppType::process, "/opt/app/run", exists).state == AppState::unknown);
}

TEST_CASE("observed state: an unidentified process that may be the app makes it unknown") {
    Inventory inventory;
    inventory.processes.emplace();
    auto kernel_thread = process(2, std::nullopt);  // no exe, and not for lack of privilege
    inventory.processes->processes = {kernel_thread, process(10, "/usr/sbin/nginx")};
    inventory.processes->visibility.inaccessible = 1;  // e.g. EIO: not a privilege problem
    PathExists exists = [](const std::string&) { return true; };
    CHECK(observe(inventory, AppType::process, "/opt/app/run", exists).state == AppState::stopped);

    // Other users' processes, agent not root: their exe links were denied.
    inventory.processes->visibility.exe_denied = 3;
    auto identified = process(20, "/opt/other/daemon");
    identified.exe_denied = true;
    identified.identity = ProcessIdentity::cmdline;
    identified.name = "run";                     // a claim of another path is taken as it stands
    auto rewritten = process(21, std::nullopt);  // "nginx: master process ..." names no path
    rewritten.exe_denied = true;
    rewritten.name = "nginx";
    auto other = process(22, std::nullopt);
    other.exe_denied = true;
    other.name = "sshd";
    inventory.processes->processes = {kernel_thread, identified, rewritten, other};
    // None of them can be /opt/app/run: identified otherwise, or named otherwise by the kernel.
    CHECK(observe(inventory, AppType::process, "/opt/app/run", exists).state == AppState::stopped);
    auto unsure = observe(inventory, AppType::process, "/usr/sbin/nginx", exists);
    CHECK(unsure.state == AppState::unknown);
    CHECK(unsure.detail.find("1 processes of other users may run it (pid 21)") !=
          std::string::npos);
    // An interpreter whose script argument is relative may run any script of that name.
    auto relative_script = process(23, std::nullopt);
    relative_script.exe_denied = true;
    relative_script.name = "bash";
    relative_script.unresolved_script = "./loop.sh";
    inventory.processes->processes.push_back(relative_script);
    CHECK(observe(inventory, AppType::process, "/opt/app/loop.sh", exists).state ==
          AppState::unknown);
    CHECK(observe(inventory, AppType::process, "/opt/app/other.sh", exists).state ==
          AppState::stopped);
    // A match is still a match, and says how it was identified.
    auto by_cmdline = process(30, "/opt/app/run");
    by_cmdline.exe_denied = true;
    by_cmdline.identity = ProcessIdentity::cmdline;
    inventory.processes->processes.push_back(by_cmdline);
    auto seen = observe(inventory, AppType::process, "/opt/app/run", exists);
    CHECK(seen.state == AppState::running);
    CHECK(seen.detail == "pid 30 (identified by its command line)");
}

TEST_CASE("observed state: a command line never stands for a deleted binary") {
    auto claimed = process(40, "/opt/app/run (deleted)");
    claimed.identity = ProcessIdentity::cmdline;
    CHECK_FALSE(process_runs_path(claimed, "/opt/app/run"));
    claimed.identity = ProcessIdentity::exe;
    CHECK(process_runs_path(claimed, "/opt/app/run"));
}

TEST_CASE("observed state: the kernel's 15-byte name of a long basename") {
    auto worker = process(50, std::nullopt);
    worker.exe_denied = true;
    worker.name = "a-very-long-nam";
    CHECK(process_may_run_path(worker, "/opt/x/a-very-long-name-indeed"));
    CHECK_FALSE(process_may_run_path(worker, "/opt/x/a-very-long"));
    worker.exe_denied = false;  // readable and still unidentified: a kernel thread
    CHECK_FALSE(process_may_run_path(worker, "/opt/x/a-very-long-name-indeed"));
}

TEST_CASE("observed state: a failed or missing section makes every app of its type unknown") {
    Inventory inventory;
    inventory.systemd.emplace();
    inventory.systemd->status.error = "bus unavailable";
    inventory.systemd->units = {unit("web.service", "loaded", "inactive", "dead")};
    inventory.docker.emplace();
    inventory.docker->status.error = "timed out";
    inventory.docker->containers = {container("web", "exited")};
    inventory.docker->compose_services = {ComposeService{"p", "s", {"x"}, 0}};
    inventory.processes.emplace();
    inventory.processes->status.error = "cannot list /proc";
    PathExists exists = [](const std::string&) { return true; };
    auto systemd = observe(inventory, AppType::systemd, "web.service", exists);
    CHECK(systemd.state == AppState::unknown);
    CHECK(systemd.detail == "systemd unavailable: bus unavailable");
    CHECK(observe(inventory, AppType::docker, "web", exists).state == AppState::unknown);
    CHECK(observe(inventory, AppType::compose, "p::s", exists).state == AppState::unknown);
    CHECK(observe(inventory, AppType::process, "/opt/app", exists).state == AppState::unknown);
    Inventory empty;
    CHECK(observe(empty, AppType::systemd, "web.service", exists).detail ==
          "systemd not collected");
}

TEST_CASE("observed state: an invalid identifier is unknown") {
    Inventory inventory = with_units({});
    auto observed = observe(inventory, AppType::systemd, "web; rm -rf /", nothing_exists);
    CHECK(observed.state == AppState::unknown);
    CHECK(observed.detail.rfind("invalid identifier", 0) == 0);
}

TEST_CASE("observed state: the index answers as observe() does, for every kind of app") {
    Inventory inventory = with_units({unit("web.service", "loaded", "active", "running"),
                                      unit("db.service", "loaded", "failed", "failed"),
                                      // A name twice: the first row counts, as in a scan.
                                      unit("web.service", "loaded", "inactive", "dead"),
                                      unit("gone.service", "not-found", "inactive", "dead", {})});
    inventory.docker.emplace();
    inventory.docker->containers = {container("cache", "running", "shop", "redis")};
    inventory.docker->compose_services = {ComposeService{"shop", "redis", {"cache"}, 1}};
    inventory.processes.emplace();
    inventory.processes->processes = {process(42, "/opt/app/bin/server")};
    const PathExists exists = [](const std::string&) { return true; };

    const std::vector<std::pair<AppType, std::string>> apps = {
        {AppType::systemd, "web.service"},  {AppType::systemd, "db.service"},
        {AppType::systemd, "gone.service"}, {AppType::systemd, "never.service"},
        {AppType::systemd, "web; rm -rf /"}, {AppType::docker, "cache"},
        {AppType::docker, "nothing"},       {AppType::compose, "shop::redis"},
        {AppType::process, "/opt/app/bin/server"}, {AppType::process, "/opt/other"}};
    auto check_same = [&](const Inventory& of) {
        const InventoryIndex index(of);
        for (const auto& [type, identifier] : apps) {
            INFO(identifier);
            const Observation scanned = observe(of, type, identifier, exists);
            const Observation looked_up = index.observe(type, identifier, exists);
            CHECK(looked_up.state == scanned.state);
            CHECK(looked_up.detail == scanned.detail);
        }
    };
    check_same(inventory);
    CHECK(InventoryIndex(inventory).observe(AppType::systemd, "web.service", exists).state ==
          AppState::running);
    CHECK(InventoryIndex(inventory).observe(AppType::systemd, "never.service", exists).detail ==
          "no such unit");

    Inventory failed = inventory;
    failed.systemd->status.error = "bus unavailable";
    check_same(failed);
    Inventory missing = inventory;
    missing.systemd.reset();
    check_same(missing);
}
