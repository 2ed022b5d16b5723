#pragma once
// `monsys-agent status`: the running daemon's own view (docs/status.md), read from the status
// snapshot it keeps current, never from the hub. When the daemon is not running it says so and
// shows what the state directory holds. The exit code is the verdict (status/verdict.hpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace monsys::agent::commands {

struct StatusOptions {
    std::optional<std::string> config_path;
    bool json = false;
    std::int64_t max_disconnected_secs = 300;
    // Tests replace where processes are looked up and the clock.
    std::filesystem::path proc_root = "/proc";
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
};

// 0 healthy, 1 not running, 2 usage or unreadable config/snapshot, 3 disconnected longer than
// max_disconnected_secs, 4 the snapshot is stale (the daemon lives but looks hung).
int run_status(const StatusOptions& options, std::ostream& out, std::ostream& err);

}  // namespace monsys::agent::commands
