#pragma once
// Typed calls and decoders for org.freedesktop.systemd1.Manager and its Unit objects, on top of
// bus.hpp. Replies are decoded here, at the edge, into plain structs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/io/systemd/bus.hpp"

namespace monsys::io::systemd {

// The state of one unit as seen at one moment.
struct UnitState {
    std::string load_state;                 // "loaded", "not-found", "masked", ...
    std::string active_state;               // "active", "inactive", "failed", "activating", ...
    std::string sub_state;                  // "running", "dead", "exited", ...
    std::optional<std::uint32_t> main_pid;  // services only; 0 = no main process
    // Services only: why the service last ended ("success", "exit-code", "start-limit-hit"...).
    std::optional<std::string> result;
};

// The JobRemoved(u id, o job, s unit, s result) signal.
struct JobRemoved {
    std::uint32_t id = 0;
    std::string job_path;
    std::string unit;
    std::string result;  // "done", "canceled", "timeout", "failed", "dependency", "skipped"
};

Expected<JobRemoved, BusError> decode_job_removed(sd_bus_message* signal);

// Manager.Subscribe(): asks the manager to send JobRemoved and friends to this client.
Expected<std::monostate, BusError> subscribe(Bus& bus);

// Manager.GetUnit(name): the unit's object path; NoSuchUnit if it is not loaded.
Expected<std::string, BusError> get_unit(Bus& bus, const std::string& unit);

// Manager.LoadUnit(name): the unit's object path, loading the unit if it is not loaded (a stopped
// service, a unit that does not exist: LoadState then says "not-found"). An alias resolves to the
// object of the unit it names.
Expected<std::string, BusError> load_unit(Bus& bus, const std::string& unit);

// The unit's Id (its real name) and Names (the Id and every alias) properties.
struct UnitIdentity {
    std::string id;
    std::vector<std::string> names;
};
Expected<UnitIdentity, BusError> read_unit_identity(Bus& bus, const std::string& unit_path);

// Manager.RestartUnit(name, mode): the queued job's object path.
Expected<std::string, BusError> restart_unit(Bus& bus, const std::string& unit,
                                             const char* mode = "replace");

// Reads LoadState, ActiveState, SubState and (for *.service units) MainPID and Result of the
// unit object.
Expected<UnitState, BusError> read_unit_state(Bus& bus, const std::string& unit_path,
                                              bool is_service);

inline bool is_service_unit(const std::string& unit) {
    constexpr std::string_view suffix = ".service";
    return unit.size() > suffix.size() &&
           unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace monsys::io::systemd
