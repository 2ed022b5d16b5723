// The manager's signals decoded from real sd_bus_messages, and the state-change filter.
#include "common/io/systemd/unit_signals.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/io/systemd/typed_message.hpp"
#include "message_builder.hpp"

using namespace monsys::io::systemd;
using monsys::testing::OfflineBus;

namespace {

// PropertiesChanged with `changed` (each a string variant) and `invalidated`.
Message properties_changed(OfflineBus& bus, const char* interface,
                           const std::vector<std::string>& changed,
                           const std::vector<std::string>& invalidated) {
    auto signal = bus.signal("/org/freedesktop/systemd1/unit/web_2eservice", kPropertiesInterface,
                             "PropertiesChanged");
    REQUIRE(append_one(signal.get(), interface) >= 0);
    REQUIRE(sd_bus_message_open_container(signal.get(), 'a', "{sv}") >= 0);
    for (const std::string& name : changed) {
        REQUIRE(sd_bus_message_append(signal.get(), "{sv}", name.c_str(), "s", "value") >= 0);
    }
    REQUIRE(sd_bus_message_close_container(signal.get()) >= 0);
    REQUIRE(append_one(signal.get(), invalidated) >= 0);
    OfflineBus::seal(signal);
    return signal;
}

}  // namespace

TEST_CASE("unit signals: a unit's object path is its name, bus-escaped, under the unit prefix") {
    CHECK(unit_object_path("web.service") == "/org/freedesktop/systemd1/unit/web_2eservice");
    CHECK(unit_object_path("foo-bar@x.service") ==
          "/org/freedesktop/systemd1/unit/foo_2dbar_40x_2eservice");
    CHECK(unit_name_of_path("/org/freedesktop/systemd1/unit/foo_2dbar_40x_2eservice") ==
          "foo-bar@x.service");
    CHECK(unit_name_of_path("/org/freedesktop/systemd1") == "");
    CHECK(unit_name_of_path(unit_object_path("a b_c.service")) == "a b_c.service");
}

TEST_CASE("unit signals: ActiveState, SubState, MainPID and Result are state and nothing else is") {
    for (const char* name : {"ActiveState", "SubState", "MainPID", "Result"}) {
        CHECK(is_unit_state_property(name));
    }
    for (const char* name : {"Job", "InvocationID", "activestate", "ActiveStateTimestamp", ""}) {
        CHECK_FALSE(is_unit_state_property(name));
    }
    PropertiesChanged change;
    change.changed = {"Job", "StateChangeTimestamp"};
    CHECK_FALSE(changes_unit_state(change));
    change.invalidated = {"Result"};
    CHECK(changes_unit_state(change));
    change.invalidated.clear();
    change.changed.push_back("SubState");
    CHECK(changes_unit_state(change));
}

TEST_CASE("unit signals: PropertiesChanged decodes interface, changed and invalidated names") {
    OfflineBus bus;
    auto signal =
        properties_changed(bus, kUnitInterface, {"ActiveState", "SubState"}, {"Conditions"});
    auto change = decode_properties_changed(signal.get());
    REQUIRE(change);
    CHECK(change->interface == kUnitInterface);
    CHECK(change->changed == std::vector<std::string>{"ActiveState", "SubState"});
    CHECK(change->invalidated == std::vector<std::string>{"Conditions"});
    CHECK(changes_unit_state(*change));

    auto other = properties_changed(bus, kServiceInterface, {"StatusText"}, {});
    auto unrelated = decode_properties_changed(other.get());
    REQUIRE(unrelated);
    CHECK_FALSE(changes_unit_state(*unrelated));
}

TEST_CASE("unit signals: a PropertiesChanged with more names than the cap is an error") {
    OfflineBus bus;
    std::vector<std::string> many;
    for (int i = 0; i < 20; ++i) many.push_back("P" + std::to_string(i));
    auto signal = properties_changed(bus, kUnitInterface, many, {});
    auto change = decode_properties_changed(signal.get(), 10);
    REQUIRE_FALSE(change);
    CHECK(change.error().errno_value == E2BIG);
}

TEST_CASE("unit signals: UnitNew/UnitRemoved and Reloading") {
    OfflineBus bus;
    auto unit_new = bus.signal(kManagerPath, kManagerInterface, "UnitNew");
    REQUIRE(append_all(unit_new.get(), "web.service",
                       ObjectPath{"/org/freedesktop/systemd1/unit/web_2eservice"}) >= 0);
    OfflineBus::seal(unit_new);
    auto listed = decode_unit_new_or_removed(unit_new.get());
    REQUIRE(listed);
    CHECK(listed->id == "web.service");
    CHECK(listed->path == "/org/freedesktop/systemd1/unit/web_2eservice");

    auto finished = bus.signal(kManagerPath, kManagerInterface, "Reloading");
    REQUIRE(append_all(finished.get(), false) >= 0);
    OfflineBus::seal(finished);
    auto active = decode_reloading(finished.get());
    REQUIRE(active);
    CHECK_FALSE(*active);

    auto malformed = bus.signal(kManagerPath, kManagerInterface, "Reloading");
    REQUIRE(append_all(malformed.get(), "yes") >= 0);
    OfflineBus::seal(malformed);
    CHECK_FALSE(decode_reloading(malformed.get()));
}
