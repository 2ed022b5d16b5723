#include "agent/inventory/settings.hpp"

#include <system_error>

#include "common/build_info.hpp"
#include "common/config/config.hpp"
#include "common/io/settings_from_config.hpp"

namespace monsys::inventory {

Expected<InventorySettings, std::string> load_inventory_settings(
    const std::optional<std::string>& config_path) {
    InventorySettings settings;
    std::filesystem::path path = config_path ? *config_path : build_info::default_config_path;
    std::error_code error;
    if (!config_path && !std::filesystem::exists(path, error)) {
        settings.action_key_dir = config::Config{}.state_dir.string();
        return settings;
    }
    auto config = config::load_config(path);
    if (!config) return unexpected(config.error());
    return inventory_settings_from(*config);
}

InventorySettings inventory_settings_from(const config::Config& config) {
    InventorySettings settings;
    settings.systemd_bus = io::systemd_bus_settings_from(config).kind;
    settings.docker_socket = config.docker_socket;
    settings.source_timeout = std::chrono::seconds(config.source_timeout_secs);
    settings.action_key_dir = config.state_dir.string();
    return settings;
}

io::SystemdBusSettings InventorySettings::bus_settings() const {
    io::SystemdBusSettings settings;
    settings.kind = systemd_bus;
    settings.call_timeout = source_timeout;
    return settings;
}

io::DockerSettings InventorySettings::docker_settings() const {
    io::DockerSettings settings;
    settings.socket_path = docker_socket;
    settings.timeout = source_timeout;
    return settings;
}

}  // namespace monsys::inventory
