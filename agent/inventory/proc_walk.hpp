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

}  // namespace monsys::inventory
