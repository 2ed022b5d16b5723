#pragma once
// The daemon's own view of itself, as `monsys-agent status` shows it (docs/status.md): who the
// daemon is (pid and the process's start time, so a reader tells a live daemon from a dead one
// whose pid was reused), the hub link, the outbox, the tracked apps, the last actions and the
// last inventory. The daemon writes it to a file; the command reads it back. Pure: no I/O here.
//
// Never secrets: no token, no proxy, no key. Every string in it may come from outside (an app's
// detail, an error from the network); readers print it escaped.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/util/expected.hpp"

namespace monsys::agent::status {

using Time = std::chrono::system_clock::time_point;

// Bumped when a member changes meaning; a reader refuses other formats.
inline constexpr int snapshot_format = 1;
// A snapshot larger than this is not one the daemon wrote (a few hundred apps make ~100 KiB).
inline constexpr std::size_t max_snapshot_bytes = 1u << 20;
// How many of the last actions the snapshot keeps.
inline constexpr std::size_t max_recent_actions = 10;

struct ProcessIdentity {
    std::int64_t pid = 0;
    // /proc/<pid>/stat's starttime (clock ticks since boot): with the pid, names one process.
    std::uint64_t start_ticks = 0;

    bool operator==(const ProcessIdentity&) const = default;
};

struct HubStatus {
    std::string url;
    bool connected = false;
    // When the link last became connected or disconnected (the daemon's start until then).
    Time since{};
    std::string last_error;  // the last failed attempt or lost connection; empty: none

    bool operator==(const HubStatus&) const = default;
};

struct OutboxKindStatus {
    std::size_t count = 0;
    std::optional<Time> oldest_at;  // when the oldest pending message of this kind was stored

    bool operator==(const OutboxKindStatus&) const = default;
};

struct AppStatus {
    std::string id;
    std::string type;
    std::string state;  // running, stopped, unknown
    std::string detail;
    Time changed_at{};

    bool operator==(const AppStatus&) const = default;
};

struct ActionStatus {
    std::string jti;
    std::string app_id;
    std::string status;       // the result's status
    std::string reported_by;  // monsys-action, agent, agent-recovery
    Time at{};                // when the daemon got the result

    bool operator==(const ActionStatus&) const = default;
};

struct InventoryStatus {
    std::optional<Time> last_sent_at;
    std::map<std::string, std::string> section_errors;  // section -> error, of the last one

    bool operator==(const InventoryStatus&) const = default;
};

struct Snapshot {
    ProcessIdentity process;
    std::string version;
    Time started_at{};
    Time written_at{};
    // How often the daemon confirms the snapshot when nothing changes (it touches the file): a
    // reader takes a snapshot neither written nor touched for a few of these for a hung daemon.
    std::int64_t heartbeat_secs = 10;
    HubStatus hub;
    std::uint64_t last_acked_seq = 0;
    // By kind: inventory, state, action_result (every kind present, zero or not).
    std::map<std::string, OutboxKindStatus> outbox;
    std::vector<AppStatus> apps;
    std::vector<ActionStatus> actions;  // newest last, at most max_recent_actions
    InventoryStatus inventory;

    bool operator==(const Snapshot&) const = default;
};

nlohmann::json to_json(const Snapshot& snapshot);

// Parses a snapshot file's text: capped (max_snapshot_bytes, a small depth), every member checked.
// The error is one line naming the member.
Expected<Snapshot, std::string> parse_snapshot(std::string_view text);

}  // namespace monsys::agent::status
