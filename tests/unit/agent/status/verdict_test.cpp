#include <doctest/doctest.h>

#include "agent/status/verdict.hpp"

using namespace monsys::agent::status;
using namespace std::chrono_literals;

namespace {

const Time t0 = Time{} + std::chrono::hours(24 * 365 * 56);

Snapshot written_at(Time when, bool connected, Time since) {
    Snapshot snapshot;
    snapshot.process = {100, 5};
    snapshot.started_at = t0;
    snapshot.written_at = when;
    snapshot.heartbeat_secs = 10;
    snapshot.hub.connected = connected;
    snapshot.hub.since = since;
    return snapshot;
}

}  // namespace

TEST_CASE("status verdict: connected and fresh is healthy (0)") {
    auto verdict = judge(written_at(t0 + 60s, true, t0 + 1s), Liveness::alive, t0 + 62s, {});
    CHECK(verdict.exit_code == exit_code::healthy);
    CHECK(verdict.summary == "running; connected to the hub for 1 min 1 s");
}

TEST_CASE("status verdict: a dead daemon is not running (1), whatever its snapshot says") {
    const Snapshot snapshot = written_at(t0 + 60s, true, t0);
    auto gone = judge(snapshot, Liveness::gone, t0 + 61s, {});
    CHECK(gone.exit_code == exit_code::not_running);
    CHECK(gone.summary.find("not running (pid 100 of its last snapshot is gone)") !=
          std::string::npos);
    auto reused = judge(snapshot, Liveness::other_process, t0 + 3600s, {});
    CHECK(reused.exit_code == exit_code::not_running);
    CHECK(reused.summary.find("another process") != std::string::npos);
}

TEST_CASE("status verdict: disconnected beyond the threshold is 3, within it still 0") {
    Snapshot snapshot = written_at(t0 + 400s, false, t0 + 100s);
    snapshot.hub.last_error = "connection refused\x1b[2J";
    Thresholds thresholds;
    thresholds.max_disconnected = 300s;
    auto within = judge(snapshot, Liveness::alive, t0 + 400s, thresholds);
    CHECK(within.exit_code == exit_code::healthy);
    CHECK(within.summary.find("within 300 s") != std::string::npos);
    auto beyond = judge(snapshot, Liveness::alive, t0 + 401s, thresholds);
    CHECK(beyond.exit_code == exit_code::disconnected);
    CHECK(beyond.summary.find("for 5 min 1 s") != std::string::npos);
    // The hub's error text is shown escaped: no terminal escape reaches the operator's screen.
    CHECK(beyond.summary.find("connection refused\\x1b[2J") != std::string::npos);
    CHECK(beyond.summary.find('\x1b') == std::string::npos);
    thresholds.max_disconnected = 0s;
    CHECK(judge(snapshot, Liveness::alive, t0 + 401s, thresholds).exit_code ==
          exit_code::disconnected);
}

TEST_CASE("status verdict: a snapshot older than three heartbeats is stale (4), before the link") {
    const Snapshot snapshot = written_at(t0, false, t0 - 3600s);
    CHECK(judge(snapshot, Liveness::alive, t0 + 30s, {}).exit_code == exit_code::disconnected);
    auto stale = judge(snapshot, Liveness::alive, t0 + 31s, {});
    CHECK(stale.exit_code == exit_code::stale);
    CHECK(stale.summary.find("has not updated its status for 31 s") != std::string::npos);
    CHECK(stale.summary.find("hung") != std::string::npos);
}

TEST_CASE("status verdict: durations read as a person says them") {
    CHECK(describe_duration(0s) == "0 s");
    CHECK(describe_duration(-5s) == "0 s");
    CHECK(describe_duration(59s) == "59 s");
    CHECK(describe_duration(120s) == "2 min");
    CHECK(describe_duration(3725s) == "1 h 2 min");
    CHECK(describe_duration(90000s) == "1 d 1 h");
}
