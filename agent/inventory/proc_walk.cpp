#include "agent/inventory/proc_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "common/inventory/file_reading.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t stat_cap = 4096;
constexpr std::size_t status_cap = 16 * 1024;
constexpr std::size_t table_file_cap = 8 * 1024 * 1024;

std::optional<int> pid_of(const char* name) {
    int pid = 0;
    const char* end = name + std::strlen(name);
    auto [stop, error] = std::from_chars(name, end, pid);
    if (name == end || error != std::errc() || stop != end || pid <= 0) return std::nullopt;
    return pid;
}

// The pids under /proc, ascending. The kernel lists /proc in ascending pid order (it walks its
// pid table upwards), so the sort is a check that costs one pass; it keeps the rows in pid order
// under any other /proc (a fixture tree lists in directory order).
Expected<std::vector<int>, int> list_pids(int proc_fd) {
    UniqueFd listing(::openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing.valid()) return unexpected(errno);
    UniqueDir directory = UniqueDir::adopt(std::move(listing));
    if (!directory.valid()) return unexpected(errno);
    std::vector<int> pids;
    while (dirent* entry = ::readdir(directory.get())) {
        if (auto pid = pid_of(entry->d_name)) pids.push_back(*pid);
    }
    if (!std::is_sorted(pids.begin(), pids.end())) std::sort(pids.begin(), pids.end());
    return pids;
}

// Reads a /proc record (produced whole by one read) into `buffer`, reused across processes.
// Returns 0 or the errno; `truncated` says whether there was more than `cap`.
int read_record_at(int dir_fd, const char* name, std::size_t cap, std::string& buffer,
                   bool& truncated) {
    UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return errno;
    buffer.resize(cap + 1);
    ssize_t got;
    do {
        got = ::read(fd.get(), buffer.data(), cap + 1);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return errno;
    buffer.resize(static_cast<std::size_t>(got));
    truncated = buffer.size() > cap;
    if (truncated) buffer.resize(cap);
    return 0;
}

Expected<std::string, int> read_link_at(int dir_fd, const char* name) {
    char target[4096];
    ssize_t length = ::readlinkat(dir_fd, name, target, sizeof target);
    if (length < 0) return unexpected(errno);
    if (static_cast<std::size_t>(length) == sizeof target) return unexpected(ENAMETOOLONG);
    return std::string(target, static_cast<std::size_t>(length));
}

// "socket:[12345]" -> 12345
std::optional<std::uint64_t> socket_inode(std::string_view link) {
    constexpr std::string_view prefix = "socket:[";
    if (link.size() <= prefix.size() + 1 || link.substr(0, prefix.size()) != prefix ||
        link.back() != ']') {
        return std::nullopt;
    }
    std::uint64_t inode = 0;
    const char* first = link.data() + prefix.size();
    const char* last = link.data() + link.size() - 1;
    auto [stop, error] = std::from_chars(first, last, inode);
    if (error != std::errc() || stop != last) return std::nullopt;
    return inode;
}

std::string join_cmdline(std::string_view raw) {
    std::string joined(raw);
    while (!joined.empty() && joined.back() == '\0') joined.pop_back();
    std::replace(joined.begin(), joined.end(), '\0', ' ');
    return joined;
}

std::string user_name(const std::map<std::uint32_t, std::string>& users, std::uint32_t uid) {
    auto found = users.find(uid);
    return found != users.end() ? found->second : std::to_string(uid);
}

// What the whole walk reads once: the tree, the boot time, the user names.
struct WalkContext {
    WalkContext(const std::string& root, const ProcessScanOptions& options, bool processes)
        : tree(open_proc_tree(root, options.read_link)) {
        tree.cmdline_cap = options.cmdline_cap;
        if (!processes) return;
        if (auto text = read_small_file(tree.dir + "/stat", table_file_cap)) {
            boot_time = parse_boot_time(*text).value_or(0);
        }
        if (auto passwd = read_small_file(root + "/etc/passwd", table_file_cap)) {
            users = parse_passwd(*passwd);
        }
        if (auto mountinfo = read_small_file(tree.dir + "/self/mountinfo", table_file_cap)) {
            visibility = parse_proc_visibility(*mountinfo, options.caller);
        }
    }
    ProcTree tree;
    std::int64_t boot_time = 0;
    std::map<std::uint32_t, std::string> users;
    ProcessVisibility visibility;
};

// One range's findings, merged by walk_proc_in_parts.
struct WalkPart {
    ProcWalkResult result;
    bool timed_out = false;
    bool too_many = false;
};

// Walks one range of pids. Reuses its read buffers from one process to the next.
class Walk {
  public:
    Walk(const WalkContext& context, const ProcessScanOptions& options,
         const ProcWalkRequest& request)
        : options_(options),
          request_(request),
          tree_(context.tree),
          boot_time_(context.boot_time),
          users_(context.users) {}

    // Walks the given pids (ascending) of the /proc open as `proc_fd`.
    WalkPart run(int proc_fd, const int* first, const int* last, std::size_t max_rows,
                 const ProcessRowHandler& on_row) {
        const bool running_as_root = options_.caller.euid == 0;
        std::size_t seen = 0;
        char name[16];
        for (const int* pid_at = first; pid_at != last; ++pid_at) {
            const int pid = *pid_at;
            if (request_.processes && part_.result.rows >= max_rows) {
                part_.too_many = true;
                break;
            }
            if (++seen % 64 == 0 && std::chrono::steady_clock::now() > options_.deadline) {
                part_.timed_out = true;
                break;
            }
            if (!request_.processes && owners_missing() == 0) break;
            auto end = std::to_chars(name, name + sizeof name - 1, pid).ptr;
            *end = '\0';
            UniqueFd dir(::openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (request_.processes) {
                Process process;
                int error = dir.valid() ? read_process(dir.get(), name, process) : errno;
                // Only an agent without privilege is blind to other users' executables; as
                // root a refusal is a passing state of one process (a non-dumpable one
                // mid-exec), not blindness.
                if (!running_as_root && (process.exe_denied || error == EACCES || error == EPERM)) {
                    ++part_.result.section.visibility.exe_denied;
                }
                if (error == 0) {
                    ++part_.result.rows;
                    on_row(process);
                } else if (is_gone(error)) {
                    ++part_.result.section.vanished;
                } else {
                    ++part_.result.section.visibility.inaccessible;
                }
            }
            if (dir.valid() && owners_missing() > 0) find_sockets(dir.get(), pid);
        }
        return std::move(part_);
    }

  private:
    std::size_t owners_missing() const {
        return request_.socket_inodes.size() - part_.result.socket_owners.size();
    }

    Expected<std::string, int> read_link(int dir_fd, const char* pid_name, const char* link) {
        // A test's reader plays one without privilege by the path; the host is read by the fd.
        if (options_.read_link) return tree_.read_link(tree_.dir + "/" + pid_name + "/" + link);
        return read_link_at(dir_fd, link);
    }

    // Reads one process. Returns the errno that stopped it, or 0 when `out` is filled.
    int read_process(int dir_fd, const char* pid_name, Process& out) {
        std::uint32_t euid = 0;
        bool truncated = false;
        if (options_.uid_from_status_file) {
            if (int error = read_record_at(dir_fd, "status", status_cap, stat_buffer_, truncated)) {
                return error;
            }
            euid = parse_status_euid(stat_buffer_).value_or(0);
        } else {
            // The owner of /proc/PID is the process's effective uid.
            struct stat owner {};
            if (::fstat(dir_fd, &owner) != 0) return errno;
            euid = owner.st_uid;
        }
        if (int error = read_record_at(dir_fd, "stat", stat_cap, stat_buffer_, truncated)) {
            return error;
        }
        if (truncated) return EFBIG;
        auto stat = parse_proc_stat(stat_buffer_);
        if (!stat) return EINVAL;
        if (int error = read_record_at(dir_fd, "cmdline", options_.cmdline_cap, cmdline_buffer_,
                                       truncated)) {
            return error;
        }
        out.pid = stat->pid;
        out.ppid = stat->ppid;
        out.state = stat->state;
        out.name = std::move(stat->comm);
        out.start_ticks = stat->start_ticks;
        out.uid = euid;
        out.user = user_name(users_, out.uid);
        out.start_time_unix =
            boot_time_ +
            static_cast<std::int64_t>(stat->start_ticks /
                                      static_cast<std::uint64_t>(options_.clock_ticks_per_sec));
        out.rss_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(stat->rss_pages, 0)) *
                        static_cast<std::uint64_t>(options_.page_size);
        out.cmdline = join_cmdline(cmdline_buffer_);
        out.cmdline_truncated = truncated;
        PidLinkReader links = [this, dir_fd, pid_name](const char* link) {
            return read_link(dir_fd, pid_name, link);
        };
        identify_process(tree_, links, read_link(dir_fd, pid_name, "exe"), cmdline_buffer_, out);
        return 0;
    }

    // Looks for wanted socket inodes among the process's descriptors. Others' fd directories
    // are unreadable without privilege: those sockets stay without an owner.
    void find_sockets(int dir_fd, int pid) {
        UniqueDir fds =
            UniqueDir::adopt(UniqueFd(::openat(dir_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
        if (!fds.valid()) return;
        bool found = false;
        char target[64];
        while (dirent* fd = ::readdir(fds.get())) {
            if (fd->d_name[0] == '.') continue;
            ssize_t length = ::readlinkat(fds.fd(), fd->d_name, target, sizeof target);
            if (length <= 0 || static_cast<std::size_t>(length) == sizeof target) continue;
            auto inode = socket_inode(std::string_view(target, static_cast<std::size_t>(length)));
            if (!inode || !request_.socket_inodes.count(*inode)) continue;
            if (part_.result.socket_owners.emplace(*inode, SocketOwner{pid, std::nullopt}).second) {
                found = true;
            }
        }
        fds.reset();
        if (!found) return;
        auto exe = read_link_at(dir_fd, "exe");
        for (auto& [inode, owner] : part_.result.socket_owners) {
            if (owner.pid == pid && exe) owner.exe = *exe;
        }
    }

    const ProcessScanOptions& options_;
    const ProcWalkRequest& request_;
    const ProcTree& tree_;
    const std::int64_t boot_time_;
    const std::map<std::uint32_t, std::string>& users_;
    WalkPart part_;
    std::string stat_buffer_;
    std::string cmdline_buffer_;
};

}  // namespace

ProcWalkResult walk_proc(const std::string& root, const ProcessScanOptions& options,
                         const ProcWalkRequest& request, const ProcessRowHandler& on_row) {
    return walk_proc_in_parts(root, options, request, {on_row});
}

ProcWalkResult walk_proc_in_parts(const std::string& root, const ProcessScanOptions& options,
                                  const ProcWalkRequest& request,
                                  const std::vector<ProcessRowHandler>& handlers) {
    WalkContext context(root, options, request.processes);
    ProcWalkResult merged;
    merged.section.visibility = context.visibility;
    UniqueFd proc(::open(context.tree.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto pids =
        proc.valid() ? list_pids(proc.get()) : Expected<std::vector<int>, int>(unexpected(errno));
    if (!pids) {
        merged.section.status.error =
            "cannot list " + context.tree.dir + ": " + std::strerror(pids.error());
        return merged;
    }
    const std::size_t parts = std::max<std::size_t>(handlers.size(), 1);
    const std::size_t per_part = (pids->size() + parts - 1) / parts;
    // The cap is shared out, so that the parts together stay within it.
    const std::size_t max_rows_per_part = (options.max_processes + parts - 1) / parts;
    std::vector<WalkPart> results(parts);
    auto walk_part = [&](std::size_t i) {
        const std::size_t begin = std::min(pids->size(), i * per_part);
        const std::size_t end = std::min(pids->size(), begin + per_part);
        Walk walk(context, options, request);
        results[i] = walk.run(proc.get(), pids->data() + begin, pids->data() + end,
                              max_rows_per_part, handlers[i]);
    };
    {
        std::vector<std::thread> others;
        for (std::size_t i = 1; i < parts; ++i) others.emplace_back(walk_part, i);
        walk_part(0);
        for (std::thread& thread : others) thread.join();
    }
    bool timed_out = false, too_many = false;
    for (WalkPart& part : results) {
        merged.rows += part.result.rows;
        merged.section.vanished += part.result.section.vanished;
        merged.section.visibility.inaccessible += part.result.section.visibility.inaccessible;
        merged.section.visibility.exe_denied += part.result.section.visibility.exe_denied;
        for (auto& [inode, owner] : part.result.socket_owners) {
            // Parts are in pid order: the first part that found an inode has its lowest owner.
            merged.socket_owners.emplace(inode, std::move(owner));
        }
        timed_out = timed_out || part.timed_out;
        too_many = too_many || part.too_many;
    }
    if (request.processes && too_many) {
        merged.section.status.error = "more than " + std::to_string(options.max_processes) +
                                      " processes: the list is incomplete";
    } else if (request.processes && timed_out) {
        merged.section.status.error =
            "timed out after reading " + std::to_string(merged.rows) + " processes";
    }
    return merged;
}

}  // namespace monsys::inventory
