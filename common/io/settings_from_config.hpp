#pragma once
// The one mapping from the shared configuration file to the I/O adapters' settings: which bus,
// which Docker socket, and the per-step timeout (source_timeout_secs) both obey.
#include "common/config/config.hpp"
#include "common/io/docker/docker_settings.hpp"
#include "common/io/systemd/bus.hpp"

namespace monsys::io {

SystemdBusSettings systemd_bus_settings_from(const config::Config& config);
DockerSettings docker_settings_from(const config::Config& config);

}  // namespace monsys::io
