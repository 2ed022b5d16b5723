// The systemd unit source against the test environment's real user manager: ListUnitsByNames
// over the async bus, change signals of watched units, the resync after a reconnect, and a bus
// that cannot be opened.
#include "agent/observe/systemd_source.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/support/testenv.hpp"

using namespace monsys;
using namespace std::chrono_literals;
using monsys::agent::observe::SourceEvents;
using monsys::agent::observe::SystemdSource;
using Clock = std::chrono::steady_clock;

namespace {

void require_testenv() {
    const auto& env = testing::TestEnv::get();
    REQUIRE_MESSAGE(env.ready(), "test environment missing: run through ctest (fixture testenv)");
    REQUIRE_MESSAGE(!env.value("DBUS_SESSION_BUS_ADDRESS").empty(), "no user bus in the testenv");
}

std::string systemctl(const std::string& args) {
    return testing::run_output("systemctl --user " + args + " 2>&1");
}

// A transient service running `command`, stopped and forgotten when the object goes away.
struct TransientUnit {
    std::string name;
    TransientUnit(const std::string& prefix, const std::string& command,
                  const std::string& properties = "") {
        name = testing::unique_name(prefix) + ".service";
        auto started = testing::run("systemd-run --user --unit=" + name + " " + properties + " " +
                                    command + " 2>&1");
        REQUIRE_MESSAGE(started.exit_code == 0, started.output);
        REQUIRE(
            testing::wait_for([this] { return systemctl("is-active " + name) == "active"; }, 10s));
    }
    ~TransientUnit() {
        systemctl("stop " + name);
        systemctl("reset-failed " + name);
    }
};

struct Pushed {
    std::string unit;
    Clock::time_point at;  // when the callback ran
};

// One io_context and a source on the user bus, with every push recorded.
struct SourceUnderTest {
    asio::io_context io;
    std::vector<Pushed> changes;
    int resyncs = 0;
    std::unique_ptr<SystemdSource> source;

    explicit SourceUnderTest(std::chrono::milliseconds call_timeout = 5000ms) {
        io::SystemdBusSettings settings;
        settings.kind = io::SystemdBusSettings::Kind::user;
        settings.call_timeout = call_timeout;
        SourceEvents events;
        events.unit_changed = [this](const std::string& unit, agent::observe::SystemTime) {
            changes.push_back({unit, Clock::now()});
        };
        events.units_resync = [this] { ++resyncs; };
        source = std::make_unique<SystemdSource>(io.get_executor(), settings, std::move(events));
    }
    ~SourceUnderTest() {
        source->stop();
        io.restart();
        io.run_for(50ms);  // pending completions
    }

    // Runs the io_context until `done` holds or `limit` passes; true if it held.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        const auto deadline = Clock::now() + limit;
        while (!done()) {
            if (Clock::now() >= deadline) return false;
            io.restart();
            io.run_for(10ms);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds span) {
        io.restart();
        io.run_for(span);
    }

    inventory::SystemdSection list(std::vector<std::string> names) {
        std::optional<inventory::SystemdSection> section;
        source->list_units(std::move(names), [&section](inventory::SystemdSection listed) {
            section = std::move(listed);
        });
        REQUIRE(run_until([&section] { return section.has_value(); }, 10s));
        return std::move(*section);
    }

    // Watches `names`; the list that follows makes sure the bus daemon has the matches (they are
    // queued before it).
    void watch(const std::vector<std::string>& names) {
        source->watch(names);
        auto section = list(names);
        REQUIRE_MESSAGE(section.status.ok(), section.status.error.value_or(""));
    }

    std::optional<Pushed> first_change_of(const std::string& unit) const {
        for (const Pushed& pushed : changes) {
            if (pushed.unit == unit) return pushed;
        }
        return std::nullopt;
    }
};

const inventory::Unit* find(const inventory::SystemdSection& section, const std::string& name) {
    for (const auto& unit : section.units) {
        if (unit.name == name) return &unit;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("observe/systemd source: list_units gives a started transient unit as active") {
    require_testenv();
    TransientUnit unit("src-list", "/bin/sleep 1000");
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    const std::string missing = testing::unique_name("src-missing") + ".service";
    auto section = test.list({unit.name, missing});
    REQUIRE_MESSAGE(section.status.ok(), section.status.error.value_or(""));
    CHECK(section.bus == "user");
    const auto* listed = find(section, unit.name);
    REQUIRE(listed);
    CHECK(listed->load_state == "loaded");
    CHECK(listed->active_state == "active");
    CHECK(listed->sub_state == "running");
    const auto* absent = find(section, missing);
    REQUIRE(absent);
    CHECK(absent->load_state == "not-found");
    CHECK(absent->active_state == "inactive");
}

TEST_CASE(
    "observe/systemd source: stopping a watched unit pushes unit_changed within 1 s and "
    "an unwatched one pushes nothing") {
    require_testenv();
    TransientUnit watched("src-watched", "/bin/sleep 1000");
    TransientUnit unwatched("src-unwatched", "/bin/sleep 1000");
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    test.watch({watched.name});
    test.changes.clear();

    systemctl("stop --no-block " + unwatched.name);
    test.run_for(1000ms);
    CHECK_FALSE(test.first_change_of(unwatched.name));
    CHECK(test.changes.empty());

    const auto stopped_at = Clock::now();
    systemctl("stop --no-block " + watched.name);
    REQUIRE(test.run_until([&] { return test.first_change_of(watched.name).has_value(); }, 5s));
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        test.first_change_of(watched.name)->at - stopped_at);
    MESSAGE("stop to unit_changed: " << latency.count() << " ms (systemctl's own run included)");
    std::printf("systemd source: stop to unit_changed %lld ms\n",
                static_cast<long long>(latency.count()));
    CHECK(latency < 1000ms);
    CHECK_FALSE(test.first_change_of(unwatched.name));
}

TEST_CASE(
    "observe/systemd source: a killed main process of a watched Restart=no service pushes "
    "unit_changed") {
    require_testenv();
    TransientUnit unit("src-crash", "/bin/sleep 1000", "-p Restart=no");
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    test.watch({unit.name});
    test.changes.clear();

    const std::string pid = systemctl("show -p MainPID --value " + unit.name);
    REQUIRE(std::stoi(pid) > 1);
    const auto killed_at = Clock::now();
    REQUIRE(testing::run("kill -KILL " + pid).exit_code == 0);
    REQUIRE(test.run_until([&] { return test.first_change_of(unit.name).has_value(); }, 5s));
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        test.first_change_of(unit.name)->at - killed_at);
    std::printf("systemd source: kill to unit_changed %lld ms\n",
                static_cast<long long>(latency.count()));
    CHECK(latency < 1000ms);
    auto section = test.list({unit.name});
    REQUIRE(section.status.ok());
    REQUIRE(find(section, unit.name));
    CHECK(find(section, unit.name)->active_state == "failed");
}

TEST_CASE(
    "observe/systemd source: after a forced reconnect, units_resync is pushed and the watch "
    "still works") {
    require_testenv();
    TransientUnit unit("src-reconnect", "/bin/sleep 1000");
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    test.watch({unit.name});
    const int before = test.resyncs;

    test.source->force_reconnect();
    REQUIRE(test.run_until([&] { return test.resyncs > before; }, 5s));
    CHECK(test.resyncs == before + 1);
    // The list after the resync is queued behind the new connection's matches.
    auto section = test.list({unit.name});
    REQUIRE_MESSAGE(section.status.ok(), section.status.error.value_or(""));
    test.changes.clear();

    systemctl("stop --no-block " + unit.name);
    REQUIRE(test.run_until([&] { return test.first_change_of(unit.name).has_value(); }, 10s));
}

TEST_CASE(
    "observe/systemd source: a bus that cannot be opened gives a list error within the "
    "timeout and is tried again in the background") {
    require_testenv();
    const std::string real_address = testing::TestEnv::get().value("DBUS_SESSION_BUS_ADDRESS");
    const std::string prefix = "unix:path=";
    REQUIRE(real_address.rfind(prefix, 0) == 0);
    const std::string real_socket = real_address.substr(prefix.size());
    testing::TempDir dir;
    const std::string socket = dir.file("bus");
    ::setenv("DBUS_SESSION_BUS_ADDRESS", (prefix + socket).c_str(), 1);
    struct RestoreAddress {
        std::string address;
        ~RestoreAddress() { ::setenv("DBUS_SESSION_BUS_ADDRESS", address.c_str(), 1); }
    } restore{real_address};

    SourceUnderTest test(1000ms);
    const auto asked_at = Clock::now();
    auto section = test.list({"anything.service"});
    const auto took = Clock::now() - asked_at;
    REQUIRE_FALSE(section.status.ok());
    MESSAGE(section.status.error.value_or(""));
    CHECK(section.status.error->find("cannot connect to the user bus") != std::string::npos);
    CHECK(section.status.error->find('\n') == std::string::npos);
    CHECK(took < 1500ms);
    CHECK(test.resyncs == 0);

    // The socket appears: the next attempt of the back-off connects, with no call from us.
    std::filesystem::create_symlink(real_socket, socket);
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    auto listed = test.list({"anything.service"});
    CHECK_MESSAGE(listed.status.ok(), listed.status.error.value_or(""));
}

TEST_CASE("observe/systemd source: a finished daemon-reload pushes units_resync") {
    require_testenv();
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    test.watch({"anything.service"});
    const int before = test.resyncs;
    REQUIRE(systemctl("daemon-reload").empty());
    REQUIRE(test.run_until([&] { return test.resyncs > before; }, 5s));
}

TEST_CASE("observe/systemd source: beyond 256 watched units one namespace match serves them all") {
    require_testenv();
    TransientUnit watched("src-many", "/bin/sleep 1000");
    TransientUnit unwatched("src-many-not", "/bin/sleep 1000");
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    std::vector<std::string> names;
    for (int i = 0; i < 300; ++i) names.push_back("absent-" + std::to_string(i) + ".service");
    names.push_back(watched.name);
    test.watch(names);
    test.changes.clear();

    systemctl("stop --no-block " + unwatched.name);
    systemctl("stop --no-block " + watched.name);
    REQUIRE(test.run_until([&] { return test.first_change_of(watched.name).has_value(); }, 10s));
    test.run_for(300ms);
    CHECK_FALSE(test.first_change_of(unwatched.name));

    // Back to a few units: per-unit matches again, and they work.
    TransientUnit again("src-many-again", "/bin/sleep 1000");
    test.watch({again.name});
    test.changes.clear();
    systemctl("stop --no-block " + again.name);
    REQUIRE(test.run_until([&] { return test.first_change_of(again.name).has_value(); }, 10s));
}

TEST_CASE("observe/systemd source: 20 stops of watched units, each pushed within 1 s") {
    require_testenv();
    SourceUnderTest test;
    REQUIRE(test.run_until([&test] { return test.resyncs > 0; }, 10s));
    std::vector<long long> latencies_ms;
    for (int i = 0; i < 20; ++i) {
        TransientUnit unit("src-series", "/bin/sleep 1000");
        test.watch({unit.name});
        test.changes.clear();
        const auto stopped_at = Clock::now();
        systemctl("stop --no-block " + unit.name);
        REQUIRE(test.run_until([&] { return test.first_change_of(unit.name).has_value(); }, 5s));
        latencies_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   test.first_change_of(unit.name)->at - stopped_at)
                                   .count());
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    std::printf("systemd source: 20 stops to unit_changed: p50 %lld ms, p95 %lld ms, max %lld ms\n",
                latencies_ms[9], latencies_ms[18], latencies_ms[19]);
    CHECK(latencies_ms.back() < 1000);
}
