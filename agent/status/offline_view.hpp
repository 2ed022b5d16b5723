#pragma once
// What `monsys-agent status` can still show when the daemon is not running: read from the
// agent's state directory (never written): the outbox's files by kind and the oldest one's age,
// the sequence file's last acked and last handed-out seq, and the tracked apps with the states
// the daemon last remembered.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/status/status_snapshot.hpp"

namespace monsys::agent::status {

struct StatePaths {
    std::filesystem::path outbox_dir;
    std::filesystem::path seq_file;
    std::filesystem::path tracked_apps_file;
};

struct OfflineView {
    std::map<std::string, OutboxKindStatus> outbox;  // every kind, by its file names and mtimes
    std::optional<std::uint64_t> last_acked_seq;
    std::optional<std::uint64_t> last_sent_seq;  // the last seq handed out
    std::vector<AppStatus> apps;                 // state/detail/changed_at as last remembered
    std::vector<std::string> problems;           // what could not be read, one line each
};

// At most this many directory entries are looked at in the outbox (its bounds keep it far
// smaller; a directory that holds more is named in `problems`).
inline constexpr std::size_t max_outbox_entries_scanned = 100000;

OfflineView read_offline_view(const StatePaths& paths);

// For `status --json`: the same members as the snapshot's where they mean the same.
nlohmann::json to_json(const OfflineView& view);

}  // namespace monsys::agent::status
