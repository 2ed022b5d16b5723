#pragma once
// The status snapshot's file (docs/status.md): written by the daemon, read by `monsys-agent
// status`. It lives on a tmpfs (/run/monsys-agent by default), so it is replaced atomically
// (a temporary file, then rename) but not fsync'd: it describes the running process and means
// nothing after a reboot.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/status/status_snapshot.hpp"
#include "agent/status/verdict.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::status {

// The default place, as systemd's RuntimeDirectory=monsys-agent makes it.
inline constexpr const char* default_status_file = "/run/monsys-agent/status.json";

// Replaces `file` with `text` (mode 0640: root and the agent's group may read it). Creates the
// parent directory (mode 0750) when missing. Writers of one file must be serialised by the
// caller (one temporary name). The error is one line naming the path.
Expected<void, std::string> write_status_file(const std::filesystem::path& file,
                                              std::string_view text);

// Sets the file's modification time to now, not following a symlink: the daemon's heartbeat
// for a snapshot that did not change. The error is one line naming the path.
Expected<void, std::string> touch_status_file(const std::filesystem::path& file);

// Removes the file (a missing file is no error).
void remove_status_file(const std::filesystem::path& file);

struct ReadFailure {
    bool permission_denied = false;
    std::string message;  // one line naming the path
};

struct StatusFileText {
    std::string text;
    // The file's modification time: when the daemon last wrote the snapshot or, unchanged,
    // confirmed it (touch_status_file).
    Time modified_at{};
};

// Reads the file, at most max_snapshot_bytes, without following a final symlink. No value when
// there is no file.
Expected<std::optional<StatusFileText>, ReadFailure> read_status_file(
    const std::filesystem::path& file);

// When the snapshot was last known true: the later of its written_at and the file's
// modification time (a heartbeat touches the file without rewriting it).
Time confirmed_at(const Snapshot& snapshot, const StatusFileText& file);

// Whether process `identity` still runs: /proc/<pid>/stat under `proc_root` names the same start
// time. A /proc entry that cannot be read (another pid namespace, hidepid) counts as alive: the
// snapshot's age then decides.
Liveness process_liveness(const ProcessIdentity& identity,
                          const std::filesystem::path& proc_root = "/proc");

// This process, for the snapshot.
ProcessIdentity own_process_identity(const std::filesystem::path& proc_root = "/proc");

}  // namespace monsys::agent::status
