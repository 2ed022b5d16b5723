#pragma once
// Where the inventory's sources are: the three fields of the shared configuration file that the
// inventory reads, with working defaults when there is no file.
#include <chrono>
#include <optional>
#include <string>

#include "common/config/config.hpp"
#include "common/io/docker/docker_settings.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/util/expected.hpp"

namespace monsys::inventory {

struct InventorySettings {
    io::SystemdBusSettings::Kind systemd_bus = io::SystemdBusSettings::Kind::system;
    std::string docker_socket = "/var/run/docker.sock";
    // The most any one source may take (a D-Bus call, a Docker request, a /proc scan).
    std::chrono::milliseconds source_timeout{5000};
    // Where /proc and /etc are read from: "" is the host itself.
    std::string root;
    // monsys-action's state directory (the config's state_dir), whose action-key.json the host
    // section reports; "" reads none.
    std::string action_key_dir;

    io::SystemdBusSettings bus_settings() const;
    io::DockerSettings docker_settings() const;
};

// The inventory's fields of a loaded configuration.
InventorySettings inventory_settings_from(const config::Config& config);

// An explicit path must load. Without one, the default path is used when it exists, and the
// defaults when it does not; a file that exists but does not parse is an error either way.
Expected<InventorySettings, std::string> load_inventory_settings(
    const std::optional<std::string>& config_path);

}  // namespace monsys::inventory
