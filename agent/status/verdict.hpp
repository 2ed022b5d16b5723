#pragma once
// What `monsys-agent status` concludes from a snapshot, whether its process still lives, and the
// time now: one exit code and one line. Pure. The codes are documented in --help, the man page
// and docs/status.md.
#include <chrono>
#include <optional>
#include <string>

#include "agent/status/status_snapshot.hpp"

namespace monsys::agent::status {

namespace exit_code {
inline constexpr int healthy = 0;
inline constexpr int not_running = 1;
inline constexpr int usage = 2;  // bad options, an unreadable config or snapshot
inline constexpr int disconnected = 3;
inline constexpr int stale = 4;
}  // namespace exit_code

// Whether the process a snapshot names is the one that wrote it.
enum class Liveness {
    alive,          // the pid exists and started when the snapshot says
    gone,           // no such pid
    other_process,  // the pid was reused by a process that started at another time
};

struct Thresholds {
    // Disconnected for longer than this is exit 3.
    std::chrono::seconds max_disconnected{300};
    // A snapshot not rewritten for this many heartbeats is exit 4: the daemon lives but is hung.
    int stale_heartbeats = 3;
};

struct Verdict {
    int exit_code = exit_code::healthy;
    std::string summary;  // one line
};

// `now` is the reader's wall clock. Checked in this order: the process (1), a snapshot gone stale
// (4), the hub link (3).
Verdict judge(const Snapshot& snapshot, Liveness liveness, Time now, const Thresholds& thresholds);

// "3 s", "4 min 10 s", "2 h 5 min", "3 d 4 h": an age for a person.
std::string describe_duration(std::chrono::seconds duration);

}  // namespace monsys::agent::status
