#pragma once
// Which processes run an app's path, read from a /proc tree by a reader with or without
// privilege. The agent (observed state, inventory) and monsys-action (after a process restart:
// does the app run again, under a new pid?) use this one scan, so both judge by the same rule
// (process_runs_path).
//
// A reader without privilege may not read another user's /proc/PID/exe (EACCES/EPERM). It then
// takes what the command line claims (claim_from_cmdline), and marks the process
// `identity: cmdline`. docs/inventory.md says what that identity is worth.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/model.hpp"
#include "common/inventory/proc_records.hpp"
#include "common/util/expected.hpp"

namespace monsys::inventory {

// readlink(2) of one /proc link: the target, or the errno. A test replaces it to play a reader
// without privilege: to root, every link of a fixture tree is readable.
using LinkReader = std::function<Expected<std::string, int>(const std::string& path)>;

// A /proc tree and how it is read.
struct ProcTree {
    std::string host_root;  // "" for the host; what the paths the processes run are relative to
    std::string dir;        // host_root + "/proc"
    LinkReader read_link;
    std::size_t cmdline_cap = 4096;
    std::optional<std::string> own_mount_ns;  // the reader's, to tell a process in another one
};
// The /proc tree of the host at `host_root` ("" for this host); reads the reader's own mount
// namespace once.
ProcTree open_proc_tree(const std::string& host_root, LinkReader read_link = {});

// The one core both scans share: fills out.exe, script, exe_denied, foreign_root and identity
// from the exe link as read (`exe`), the raw /proc/PID/cmdline, and (for a relative script) the
// cwd link. A command line's argv[0] is resolved through the host's symlinks, as the kernel's exe
// link is.
void identify_process(const ProcTree& tree, const std::string& pid_dir,
                      const Expected<std::string, int>& exe, std::string_view raw_cmdline,
                      Process& out);

// Reads one link of a /proc/PID directory by its name ("cwd", "ns/mnt"): a full walk reads them
// relative to the directory's descriptor instead of by a path from the root each time.
using PidLinkReader = std::function<Expected<std::string, int>(const char* name)>;
void identify_process(const ProcTree& tree, const PidLinkReader& read_pid_link,
                      const Expected<std::string, int>& exe, std::string_view raw_cmdline,
                      Process& out);

struct PathScanOptions {
    std::vector<std::string> paths;  // absolute, normalized app paths
    // Stop at the first process of each path (pid order), once all are seen.
    bool first_match_only = false;
    // With first_match_only: pids to look at before listing /proc (where the paths ran last
    // time); when they account for every path, /proc is not listed at all.
    std::vector<int> hint_pids;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::size_t max_processes = 1 << 20;
    Credentials caller = current_credentials();
};

// The processes that run one of options.paths (by process_runs_path), sorted by pid, each with
// pid, start_ticks, exe/script and identity. A reader without privilege also gets the processes
// it could not identify that may still run one of the paths (process_may_run_path), so that the
// absence of a match is not taken for a stopped app. Visibility (hidepid, exe_denied), vanished
// processes and an unlistable /proc are reported as in the full inventory.
ProcessesSection scan_processes_running(const ProcTree& tree, const PathScanOptions& options);

// One process that runs a path. pid and start_ticks together name it across pid reuse.
struct RunningProcess {
    int pid = 0;
    std::uint64_t start_ticks = 0;
    ProcessIdentity identity = ProcessIdentity::exe;

    bool operator==(const RunningProcess&) const = default;
};

struct PathRuns {
    std::vector<RunningProcess> processes;  // sorted by pid
    // Processes of other users that could not be identified and may run the path: a reader
    // without privilege cannot tell that the path runs nowhere while this is not 0.
    std::size_t unidentified = 0;
    // /proc could not be listed, or hidepid hides other users' processes from this reader.
    std::optional<std::string> error;
};

// Which processes run `path` on the host at `host_root` ("" for this host), as the reader sees
// them.
PathRuns processes_running(const std::string& host_root, const std::string& path);
PathRuns processes_running(const ProcTree& tree, const std::string& path);

// The processes of `after` that are not in `before` (a new pid, or a reused pid started anew).
std::vector<RunningProcess> new_processes(const PathRuns& before, const PathRuns& after);

// How the identity is told in an observation's detail: "" for the exe link,
// " (identified by its command line)" for the weaker one.
std::string identity_note(ProcessIdentity identity);

}  // namespace monsys::inventory
