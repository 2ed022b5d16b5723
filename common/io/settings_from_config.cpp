#include "common/io/settings_from_config.hpp"

namespace monsys::io {

SystemdBusSettings systemd_bus_settings_from(const config::Config& config) {
    SystemdBusSettings settings;
    settings.kind = config.systemd_bus == config::BusKind::user ? SystemdBusSettings::Kind::user
                                                                : SystemdBusSettings::Kind::system;
    settings.call_timeout = std::chrono::seconds(config.source_timeout_secs);
    return settings;
}

DockerSettings docker_settings_from(const config::Config& config) {
    DockerSettings settings;
    settings.socket_path = config.docker_socket;
    settings.timeout = std::chrono::seconds(config.source_timeout_secs);
    return settings;
}

}  // namespace monsys::io
