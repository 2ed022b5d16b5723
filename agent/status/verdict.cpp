#include "agent/status/verdict.hpp"

#include "common/util/printable.hpp"

namespace monsys::agent::status {

using std::chrono::seconds;

std::string describe_duration(seconds duration) {
    if (duration < seconds(0)) duration = seconds(0);
    const long long total = duration.count();
    const long long days = total / 86400;
    const long long hours = total % 86400 / 3600;
    const long long minutes = total % 3600 / 60;
    const long long secs = total % 60;
    auto two = [](long long big, const char* big_unit, long long small, const char* small_unit) {
        std::string text = std::to_string(big) + " " + big_unit;
        if (small != 0) text += " " + std::to_string(small) + " " + small_unit;
        return text;
    };
    if (days > 0) return two(days, "d", hours, "h");
    if (hours > 0) return two(hours, "h", minutes, "min");
    if (minutes > 0) return two(minutes, "min", secs, "s");
    return std::to_string(secs) + " s";
}

Verdict judge(const Snapshot& snapshot, Liveness liveness, Time now, const Thresholds& thresholds) {
    const std::string pid = std::to_string(snapshot.process.pid);
    if (liveness == Liveness::gone) {
        return {exit_code::not_running,
                "the daemon is not running (pid " + pid + " of its last snapshot is gone)"};
    }
    if (liveness == Liveness::other_process) {
        return {exit_code::not_running, "the daemon is not running (pid " + pid +
                                            " of its last snapshot is another process now)"};
    }
    const auto age = std::chrono::duration_cast<seconds>(now - snapshot.written_at);
    const seconds stale_after(snapshot.heartbeat_secs * thresholds.stale_heartbeats);
    if (age > stale_after) {
        return {exit_code::stale, "the daemon (pid " + pid + ") has not updated its status for " +
                                      describe_duration(age) + " (expected every " +
                                      std::to_string(snapshot.heartbeat_secs) +
                                      " s): it looks hung"};
    }
    // Measured to the reader's now: the snapshot may be a few seconds old.
    const auto for_how_long = std::chrono::duration_cast<seconds>(now - snapshot.hub.since);
    if (!snapshot.hub.connected) {
        std::string line = "disconnected from the hub for " + describe_duration(for_how_long);
        if (!snapshot.hub.last_error.empty())
            line += " (last error: " + printable_name(snapshot.hub.last_error, 300) + ")";
        if (for_how_long > thresholds.max_disconnected) {
            return {exit_code::disconnected,
                    line + "; longer than " + std::to_string(thresholds.max_disconnected.count()) +
                        " s"};
        }
        return {exit_code::healthy, "running; " + line + ", within " +
                                        std::to_string(thresholds.max_disconnected.count()) + " s"};
    }
    return {exit_code::healthy,
            "running; connected to the hub for " + describe_duration(for_how_long)};
}

}  // namespace monsys::agent::status
