#include "common/io/systemd/unit_signals.hpp"

#include <cstdlib>

#include "common/io/systemd/typed_message.hpp"

namespace monsys::io::systemd {

std::string unit_object_path(const std::string& unit) {
    char* encoded = nullptr;
    if (sd_bus_path_encode(kUnitPathPrefix, unit.c_str(), &encoded) < 0) return {};
    std::string path(encoded);
    std::free(encoded);
    return path;
}

std::string unit_name_of_path(const std::string& path) {
    char* decoded = nullptr;
    if (sd_bus_path_decode(path.c_str(), kUnitPathPrefix, &decoded) <= 0) return {};
    std::string name(decoded != nullptr ? decoded : "");
    std::free(decoded);
    return name;
}

Expected<PropertiesChanged, BusError> decode_properties_changed(sd_bus_message* signal,
                                                                std::size_t max_properties) {
    PropertiesChanged change;
    auto interface = read_one<std::string>(signal);
    if (!interface) return unexpected(std::move(interface.error()));
    change.interface = std::move(*interface);
    auto changed = read_dictionary_keys(signal, max_properties);
    if (!changed) return unexpected(std::move(changed.error()));
    change.changed = std::move(*changed);
    auto invalidated = read_strings(signal, max_properties);
    if (!invalidated) return unexpected(std::move(invalidated.error()));
    change.invalidated = std::move(*invalidated);
    return change;
}

bool is_unit_state_property(std::string_view property) {
    return property == "ActiveState" || property == "SubState" || property == "MainPID" ||
           property == "Result";
}

bool changes_unit_state(const PropertiesChanged& change) {
    for (const auto* names : {&change.changed, &change.invalidated}) {
        for (const std::string& name : *names) {
            if (is_unit_state_property(name)) return true;
        }
    }
    return false;
}

Expected<UnitListed, BusError> decode_unit_new_or_removed(sd_bus_message* signal) {
    auto id = read_one<std::string>(signal);
    if (!id) return unexpected(std::move(id.error()));
    auto path = read_one<ObjectPath>(signal);
    if (!path) return unexpected(std::move(path.error()));
    return UnitListed{std::move(*id), std::move(path->value)};
}

Expected<bool, BusError> decode_reloading(sd_bus_message* signal) {
    return read_one<bool>(signal);
}

}  // namespace monsys::io::systemd
