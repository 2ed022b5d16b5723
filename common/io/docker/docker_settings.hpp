#pragma once
// Where the Docker Engine API is and how long each step may take (no Asio here, so headers that
// only pass settings along stay light).
#include <chrono>
#include <string>

namespace monsys::io {

struct DockerSettings {
    std::string socket_path = "/var/run/docker.sock";
    // The deadline of each single step (connect, write, read) of a request, unless a request
    // asks for a longer one (e.g. a restart that waits for the container to stop).
    std::chrono::milliseconds timeout{5000};
};

}  // namespace monsys::io
