#include "agent/inventory/processes.hpp"

#include <unistd.h>

#include "agent/inventory/proc_walk.hpp"

namespace monsys::inventory {

ProcessScanOptions default_process_scan_options() {
    ProcessScanOptions options;
    long ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks > 0) options.clock_ticks_per_sec = ticks;
    long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) options.page_size = page;
    return options;
}

ProcessesSection read_processes(const std::string& root, const ProcessScanOptions& options) {
    std::vector<Process> rows;
    ProcWalkRequest request;
    auto walked = walk_proc(root, options, request,
                            [&rows](Process& row) { rows.push_back(std::move(row)); });
    walked.section.processes = std::move(rows);
    return std::move(walked.section);
}

}  // namespace monsys::inventory
