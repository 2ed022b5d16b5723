#include "agent/inventory/processes.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/inventory/file_reading.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t stat_cap = 4096;
constexpr std::size_t status_cap = 16 * 1024;
constexpr std::size_t table_file_cap = 8 * 1024 * 1024;

std::string join_cmdline(std::string_view raw) {
    std::string joined(raw);
    while (!joined.empty() && joined.back() == '\0') joined.pop_back();
    std::replace(joined.begin(), joined.end(), '\0', ' ');
    return joined;
}

bool is_pid_name(const char* name) {
    if (*name == '\0') return false;
    for (const char* c = name; *c; ++c) {
        if (*c < '0' || *c > '9') return false;
    }
    return true;
}

std::string user_name(const std::map<std::uint32_t, std::string>& users, std::uint32_t uid) {
    auto found = users.find(uid);
    return found != users.end() ? found->second : std::to_string(uid);
}

struct ScanContext {
    const ProcTree& tree;
    const ProcessScanOptions& options;
    std::int64_t boot_time = 0;
    std::map<std::uint32_t, std::string> users;
};

// Reads one process. Returns the errno that stopped it, or 0 when `out` is filled.
int read_one_process(const ScanContext& context, const std::string& pid_text, Process& out) {
    std::string dir = context.tree.dir + "/" + pid_text;
    std::uint32_t euid = 0;
    if (context.options.uid_from_status_file) {
        auto status_text = read_proc_record(dir + "/status", status_cap);
        if (!status_text) return status_text.error();
        euid = parse_status_euid(status_text->text).value_or(0);
    } else {
        struct stat owner {};
        if (::stat(dir.c_str(), &owner) != 0) return errno;
        euid = owner.st_uid;
    }
    auto stat_text = read_proc_record(dir + "/stat", stat_cap);
    if (!stat_text) return stat_text.error();
    if (stat_text->truncated) return EFBIG;
    auto stat = parse_proc_stat(stat_text->text);
    if (!stat) return EINVAL;
    auto cmdline = read_proc_record(dir + "/cmdline", context.options.cmdline_cap);
    if (!cmdline) return cmdline.error();

    out.pid = stat->pid;
    out.ppid = stat->ppid;
    out.state = stat->state;
    out.name = std::move(stat->comm);
    out.start_ticks = stat->start_ticks;
    out.uid = euid;
    out.user = user_name(context.users, out.uid);
    out.start_time_unix =
        context.boot_time +
        static_cast<std::int64_t>(stat->start_ticks /
                                  static_cast<std::uint64_t>(context.options.clock_ticks_per_sec));
    out.rss_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(stat->rss_pages, 0)) *
                    static_cast<std::uint64_t>(context.options.page_size);
    out.cmdline = join_cmdline(cmdline->text);
    out.cmdline_truncated = cmdline->truncated;
    identify_process(context.tree, dir, context.tree.read_link(dir + "/exe"), cmdline->text, out);
    return 0;
}

}  // namespace

ProcessScanOptions default_process_scan_options() {
    ProcessScanOptions options;
    long ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks > 0) options.clock_ticks_per_sec = ticks;
    long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) options.page_size = page;
    return options;
}

ProcessesSection read_processes(const std::string& root, const ProcessScanOptions& options) {
    ProcessesSection section;
    ProcTree tree = open_proc_tree(root, options.read_link);
    tree.cmdline_cap = options.cmdline_cap;
    ScanContext context{tree, options, 0, {}};
    if (auto text = read_small_file(tree.dir + "/stat", table_file_cap)) {
        context.boot_time = parse_boot_time(*text).value_or(0);
    }
    if (auto passwd = read_small_file(root + "/etc/passwd", table_file_cap)) {
        context.users = parse_passwd(*passwd);
    }
    if (auto mountinfo = read_small_file(tree.dir + "/self/mountinfo", table_file_cap)) {
        section.visibility = parse_proc_visibility(*mountinfo, options.caller);
    }

    const bool running_as_root = options.caller.euid == 0;
    DIR* directory = ::opendir(tree.dir.c_str());
    if (!directory) {
        section.status.error = "cannot list " + tree.dir + ": " + std::strerror(errno);
        return section;
    }
    std::size_t seen = 0;
    while (dirent* entry = ::readdir(directory)) {
        if (!is_pid_name(entry->d_name)) continue;
        if (section.processes.size() >= options.max_processes) {
            section.status.error = "more than " + std::to_string(options.max_processes) +
                                   " processes: the list is incomplete";
            break;
        }
        if (++seen % 64 == 0 && std::chrono::steady_clock::now() > options.deadline) {
            section.status.error = "timed out after reading " +
                                   std::to_string(section.processes.size()) + " processes";
            break;
        }
        Process process;
        int error = read_one_process(context, entry->d_name, process);
        // Only an agent without privilege is blind to other users' executables; as root a
        // refusal is a passing state of one process (a non-dumpable one mid-exec), not blindness.
        if (!running_as_root && (process.exe_denied || error == EACCES || error == EPERM)) {
            ++section.visibility.exe_denied;
        }
        if (error == 0) {
            section.processes.push_back(std::move(process));
        } else if (is_gone(error)) {
            ++section.vanished;
        } else {
            ++section.visibility.inaccessible;
        }
    }
    ::closedir(directory);
    std::sort(section.processes.begin(), section.processes.end(),
              [](const Process& a, const Process& b) { return a.pid < b.pid; });
    return section;
}

}  // namespace monsys::inventory
