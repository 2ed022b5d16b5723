#pragma once
// The systemd manager's signals that tell a unit changed, decoded at the edge into plain structs,
// and the rule for which property changes count as a change of a unit's state.
//
// After Manager.Subscribe, the manager emits on the unit's object path
// org.freedesktop.DBus.Properties.PropertiesChanged (one per interface: Unit, Service, ...), and
// on its own path UnitNew(s id, o path), UnitRemoved(s id, o path) and Reloading(b active).
#include <systemd/sd-bus.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/systemd/bus.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::systemd {

inline constexpr const char* kUnitPathPrefix = "/org/freedesktop/systemd1/unit";

// The object path systemd gives a unit (sd_bus_path_encode of the name under kUnitPathPrefix),
// e.g. "/org/freedesktop/systemd1/unit/web_2eservice". Empty if the name cannot be encoded.
// An alias has no object path of its own for signals: systemd emits on its unit's real name.
std::string unit_object_path(const std::string& unit);

// The unit name of such a path, or "" if the path is not one.
std::string unit_name_of_path(const std::string& path);

// PropertiesChanged(s interface, a{sv} changed, as invalidated): the names only.
struct PropertiesChanged {
    std::string interface;
    std::vector<std::string> changed;
    std::vector<std::string> invalidated;
};

// Each list is capped: more than `max_properties` names in either is an error (E2BIG).
inline constexpr std::size_t kMaxChangedProperties = 512;
Expected<PropertiesChanged, BusError> decode_properties_changed(
    sd_bus_message* signal, std::size_t max_properties = kMaxChangedProperties);

// ActiveState, SubState, MainPID or Result: the properties whose change is a change of the
// unit's observed state. Pure.
bool is_unit_state_property(std::string_view property);
// Whether a PropertiesChanged changed or invalidated one of them. Pure.
bool changes_unit_state(const PropertiesChanged& change);

// UnitNew(s id, o path) and UnitRemoved(s id, o path).
struct UnitListed {
    std::string id;
    std::string path;
};
Expected<UnitListed, BusError> decode_unit_new_or_removed(sd_bus_message* signal);

// Reloading(b active): true when a reload starts, false when it has finished.
Expected<bool, BusError> decode_reloading(sd_bus_message* signal);

}  // namespace monsys::io::systemd
