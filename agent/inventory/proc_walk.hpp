#pragma once
// One walk over ROOT/proc for both the processes and the ports sections: each /proc/PID is
// opened once, in pid order, and what both need is read relative to that directory's
// descriptor (its owner, stat, cmdline, the exe link, and the fd links while listening sockets
// are still without an owner). Each process row goes to a callback as soon as it is read, so a
// caller can write it out and forget it: the walk holds no list of processes.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/inventory/processes.hpp"
#include "common/inventory/model.hpp"

namespace monsys::inventory {

struct SocketOwner {
    int pid = 0;
    std::optional<std::string> exe;  // the owner's exe link as read, when readable
};

struct ProcWalkRequest {
    // Read each process's row (the processes section). Without it only the fd links are read.
    bool processes = true;
    // Socket inodes whose owning process is wanted (the ports section): the first process in pid
    // order holding each. The fd links are read only while some inode is still without one.
    std::set<std::uint64_t> socket_inodes;
};

struct ProcWalkResult {
    // The processes section without its rows: status (error, not duration), visibility,
    // vanished. Meaningful only when rows were asked for.
    ProcessesSection section;
    std::size_t rows = 0;
    std::map<std::uint64_t, SocketOwner> socket_owners;
};

using ProcessRowHandler = std::function<void(Process& row)>;

ProcWalkResult walk_proc(const std::string& root, const ProcessScanOptions& options,
                         const ProcWalkRequest& request, const ProcessRowHandler& on_row);

// The same walk split into consecutive pid ranges, one per handler: the first on the calling
// thread, each other one on a thread of its own that is joined before this returns. Handler i
// gets the rows of range i in pid order, so the rows of handler 0, then 1, ... are in pid order.
// The results are merged (counts added, each socket's lowest owning pid).
ProcWalkResult walk_proc_in_parts(const std::string& root, const ProcessScanOptions& options,
                                  const ProcWalkRequest& request,
                                  const std::vector<ProcessRowHandler>& handlers);

}  // namespace monsys::inventory
