#pragma once
// The systemd section: the manager's loaded units (ListUnitsByPatterns) merged with its installed
// unit files (ListUnitFilesByPatterns), two calls on one connection. Per-unit property reads are
// made only for units that are not inactive (their main PID and since-time matter), pipelined
// and bounded. Decoders read sd-bus messages into plain rows; the merge is pure.
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/inventory/model.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/io/systemd/manager.hpp"
#include "common/util/expected.hpp"

namespace monsys::inventory {

// One entry of ListUnits' a(ssssssouso).
struct RawUnit {
    std::string name;
    std::string description;
    std::string load_state;
    std::string active_state;
    std::string sub_state;
    std::string following;
    std::string object_path;
    std::uint32_t job_id = 0;
    std::string job_type;
    std::string job_path;
};

// One entry of ListUnitFiles' a(ss).
struct RawUnitFile {
    std::string path;
    std::string state;
};

struct UnitDetails {
    std::optional<std::int64_t> since_unix_usec;
    std::optional<std::int64_t> main_pid;
};

inline constexpr std::size_t max_units = 200000;

// A reply holding more than `cap` entries is an error, not a silently shortened list.
Expected<std::vector<RawUnit>, std::string> decode_unit_list(sd_bus_message* reply,
                                                             std::size_t cap = max_units);
Expected<std::vector<RawUnitFile>, std::string> decode_unit_file_list(sd_bus_message* reply,
                                                                      std::size_t cap = max_units);

// Loaded units with their unit file's state and path, plus every installed unit that is not
// loaded (load_state "not-loaded", inactive/dead). Sorted by name.
std::vector<Unit> merge_units(const std::vector<RawUnit>& loaded,
                              const std::vector<RawUnitFile>& files);

// Whether a unit's main PID and since-time are worth a property read.
bool wants_details(const Unit& unit);

struct SystemdQuery {
    std::vector<std::string> patterns;  // shell globs for ListUnitsByPatterns; empty = every unit
    std::size_t max_detail_units = 4096;
    std::size_t pipeline_window = 64;  // outstanding calls; a system bus allows 128 per client
    bool fetch_details = true;
};

// Collects the whole section over `bus`, within `deadline`.
SystemdSection collect_systemd(io::systemd::Bus& bus, const SystemdQuery& query,
                               std::chrono::steady_clock::time_point deadline);

// The rows of a ListUnitsByNames reply (loaded units only, no unit files). Shared by the blocking
// call below and the agent's asynchronous unit source.
Expected<std::vector<Unit>, std::string> decode_units_by_names(sd_bus_message* reply);

// ListUnitsByNames: the named units only, loading installed ones on the way (so an installed,
// stopped unit shows as loaded/inactive and a missing one as not-found). One call.
Expected<std::vector<Unit>, std::string> list_units_by_names(io::systemd::Bus& bus,
                                                             const std::vector<std::string>& names);

// Reads the details of the given units (object paths from their rows), pipelined.
std::vector<std::optional<UnitDetails>> fetch_unit_details(
    io::systemd::Bus& bus, const std::vector<std::pair<std::string, bool>>& paths_and_is_service,
    std::size_t window, std::chrono::steady_clock::time_point deadline);

}  // namespace monsys::inventory
