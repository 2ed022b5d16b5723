#include "common/io/systemd/manager.hpp"

#include <cerrno>

namespace monsys::io::systemd {

Expected<JobRemoved, BusError> decode_job_removed(sd_bus_message* signal) {
    std::uint32_t id = 0;
    const char* job = nullptr;
    const char* unit = nullptr;
    const char* result = nullptr;
    int r = sd_bus_message_read(signal, "uoss", &id, &job, &unit, &result);
    if (r <= 0)
        return unexpected(make_bus_error(r < 0 ? r : -EBADMSG, nullptr, "decode JobRemoved"));
    return JobRemoved{id, job, unit, result};
}

Expected<std::monostate, BusError> subscribe(Bus& bus) {
    auto reply = bus.call(manager_method("Subscribe"));
    if (!reply) return unexpected(std::move(reply.error()));
    return std::monostate{};
}

Expected<std::string, BusError> get_unit(Bus& bus, const std::string& unit) {
    auto reply = bus.call(manager_method("GetUnit"), "s", unit.c_str());
    if (!reply) return unexpected(std::move(reply.error()));
    return read_string(*reply, 'o');
}

Expected<std::string, BusError> load_unit(Bus& bus, const std::string& unit) {
    auto reply = bus.call(manager_method("LoadUnit"), "s", unit.c_str());
    if (!reply) return unexpected(std::move(reply.error()));
    return read_string(*reply, 'o');
}

Expected<UnitIdentity, BusError> read_unit_identity(Bus& bus, const std::string& unit_path) {
    const char* path = unit_path.c_str();
    auto id = get_string_property(bus, kSystemdService, path, kUnitInterface, "Id");
    if (!id) return unexpected(std::move(id.error()));
    auto names = get_string_array_property(bus, kSystemdService, path, kUnitInterface, "Names");
    if (!names) return unexpected(std::move(names.error()));
    return UnitIdentity{std::move(*id), std::move(*names)};
}

Expected<std::string, BusError> restart_unit(Bus& bus, const std::string& unit, const char* mode) {
    auto reply = bus.call(manager_method("RestartUnit"), "ss", unit.c_str(), mode);
    if (!reply) return unexpected(std::move(reply.error()));
    return read_string(*reply, 'o');
}

Expected<UnitState, BusError> read_unit_state(Bus& bus, const std::string& unit_path,
                                              bool is_service) {
    UnitState state;
    const char* path = unit_path.c_str();
    auto load = get_string_property(bus, kSystemdService, path, kUnitInterface, "LoadState");
    if (!load) return unexpected(std::move(load.error()));
    state.load_state = std::move(*load);
    auto active = get_string_property(bus, kSystemdService, path, kUnitInterface, "ActiveState");
    if (!active) return unexpected(std::move(active.error()));
    state.active_state = std::move(*active);
    auto sub = get_string_property(bus, kSystemdService, path, kUnitInterface, "SubState");
    if (!sub) return unexpected(std::move(sub.error()));
    state.sub_state = std::move(*sub);
    if (is_service) {
        auto pid = get_u32_property(bus, kSystemdService, path, kServiceInterface, "MainPID");
        if (!pid) return unexpected(std::move(pid.error()));
        state.main_pid = *pid;
        auto result = get_string_property(bus, kSystemdService, path, kServiceInterface, "Result");
        if (!result) return unexpected(std::move(result.error()));
        state.result = std::move(*result);
    }
    return state;
}

}  // namespace monsys::io::systemd
