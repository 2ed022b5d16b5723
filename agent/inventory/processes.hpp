#pragma once
// The processes section from ROOT/proc (read by the shared walk, agent/inventory/proc_walk).
// A process that exits during the scan is skipped and
// counted, never an error; hidepid is detected from the /proc mount options. Which app a process
// runs is read by the same core as the path scan (common/inventory/process_scan), which the
// observer uses for its targeted scans.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/model.hpp"
#include "common/inventory/proc_records.hpp"
#include "common/inventory/process_scan.hpp"

namespace monsys::inventory {

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
    // How the exe, cwd and ns links are read (a test plays a reader without privilege).
    LinkReader read_link;
};
ProcessScanOptions default_process_scan_options();

ProcessesSection read_processes(const std::string& root, const ProcessScanOptions& options);

}  // namespace monsys::inventory
