#pragma once
// The processes section from ROOT/proc. A process that exits during the scan is skipped and
// counted, never an error; hidepid is detected from the /proc mount options.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

struct ProcStat {
    int pid = 0;
    std::string comm;
    char state = '?';
    int ppid = 0;
    std::uint64_t start_ticks = 0;  // since boot, in clock ticks
    std::int64_t rss_pages = 0;
};

// Parses /proc/PID/stat. The command name is in parentheses and may itself contain them.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// The effective uid from /proc/PID/status.
std::optional<std::uint32_t> parse_status_euid(std::string_view text);

// btime from /proc/stat: the boot time in seconds since the epoch.
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat);

std::map<std::uint32_t, std::string> parse_passwd(std::string_view text);

struct Credentials {
    std::uint32_t euid = 0;
    std::vector<std::uint32_t> groups;  // effective and supplementary
};
Credentials current_credentials();

// Reads the hidepid (and gid=) option of the /proc mount from /proc/self/mountinfo text, and
// whether it hides processes from a caller with these credentials.
ProcessVisibility parse_proc_visibility(std::string_view mountinfo, const Credentials& caller);

struct ProcessScanOptions {
    std::size_t cmdline_cap = 4096;
    std::size_t max_processes = 1 << 20;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    Credentials caller = current_credentials();
    long clock_ticks_per_sec = 100;
    long page_size = 4096;
    // The owner of /proc/PID is the process's effective uid (for non-dumpable processes too, unlike
    // the files inside), so one stat() replaces reading /proc/PID/status. A fixture tree has no
    // process owners: it sets this to read the Uid: line of its status files instead.
    bool uid_from_status_file = false;
    // Only what tells which app a process runs (exe, script): no stat, no status, no user.
    bool identity_only = false;
    // With identity_only: keep only processes running one of these paths (exe or script). The
    // cmdline is then read for interpreters alone, so most processes cost one readlink.
    std::vector<std::string> wanted_paths;
    // With wanted_paths: stop at the first process of each path (pid order), once all are seen.
    bool first_match_only = false;
    // With first_match_only: pids to look at before the scan (where the paths ran last time);
    // when they account for every path, /proc is not listed at all.
    std::vector<int> hint_pids;
};
ProcessScanOptions default_process_scan_options();

ProcessesSection read_processes(const std::string& root, const ProcessScanOptions& options);

}  // namespace monsys::inventory
