#include "common/inventory/process_scan.hpp"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/inventory/file_reading.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/inventory/process_identity.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t stat_cap = 4096;
constexpr std::size_t table_file_cap = 8 * 1024 * 1024;

bool is_denied(int error) {
    return error == EACCES || error == EPERM;
}

bool is_pid_name(const char* name) {
    if (*name == '\0') return false;
    for (const char* c = name; *c; ++c) {
        if (*c < '0' || *c > '9') return false;
    }
    return true;
}

// argv[0] as the kernel's exe link would show it: through the host's symlinks (`/bin/sh` is
// `/usr/bin/dash`). A path that does not resolve on the host stays as written.
std::string resolve_on_host(const std::string& host_root, const std::string& path) {
    std::string full = host_root + path;
    std::unique_ptr<char, decltype(&::free)> real(::realpath(full.c_str(), nullptr), &::free);
    if (!real) return path;
    std::string_view resolved(real.get());
    if (resolved.substr(0, host_root.size()) != host_root) return path;
    resolved.remove_prefix(host_root.size());
    return resolved.empty() || resolved.front() != '/' ? path : std::string(resolved);
}

struct Scan {
    const ProcTree& tree;
    const PathScanOptions& options;
    ProcessesSection section;
    std::vector<bool> path_seen;
    std::size_t paths_seen = 0;

    bool runs_a_wanted_path(const Process& process) const {
        return std::any_of(
            options.paths.begin(), options.paths.end(),
            [&process](const std::string& path) { return process_runs_path(process, path); });
    }
    bool may_run_a_wanted_path(const Process& process) const {
        return std::any_of(
            options.paths.begin(), options.paths.end(),
            [&process](const std::string& path) { return process_may_run_path(process, path); });
    }

    // Fills `out` when /proc/PID runs a wanted path, or may run one unseen. Returns 0 then,
    // ENOEXEC when it runs none, or the errno that stopped the read.
    int read(const std::string& pid_text, Process& out) const {
        const std::string dir = tree.dir + "/" + pid_text;
        out.pid = std::atoi(pid_text.c_str());
        auto exe = tree.read_link(dir + "/exe");
        // ENOENT here is a kernel thread (or a process that just exited): nothing to match.
        if (!exe && exe.error() == ENOENT) return ENOEXEC;
        if (!exe && !is_denied(exe.error())) return exe.error();
        // "sh" stands for argv[0], unknown yet: it makes busybox count as a possible shell.
        if (exe && !is_interpreter(*exe, "sh")) {
            // Most processes end here, at one readlink: their exe is not a wanted path.
            Process by_exe;
            by_exe.exe = *exe;
            by_exe.identity = ProcessIdentity::exe;
            if (!runs_a_wanted_path(by_exe)) return ENOEXEC;
            identify_process(tree, dir, exe, {}, out);
        } else {
            auto cmdline = read_proc_record(dir + "/cmdline", tree.cmdline_cap);
            if (!cmdline) return cmdline.error();
            identify_process(tree, dir, exe, cmdline->text, out);
        }
        const bool runs = runs_a_wanted_path(out);
        const bool unidentified = out.exe_denied && out.identity == ProcessIdentity::none;
        if (!runs && !unidentified) return ENOEXEC;
        auto stat_text = read_proc_record(dir + "/stat", stat_cap);
        if (!stat_text) return stat_text.error();
        auto stat = parse_proc_stat(stat_text->text);
        if (!stat) return EINVAL;
        out.name = std::move(stat->comm);
        out.start_ticks = stat->start_ticks;
        if (!runs && !may_run_a_wanted_path(out)) return ENOEXEC;
        return 0;
    }

    // Keeps a process read by read(). With first_match_only, only the first of each path (and
    // the unidentified ones while some path is unseen); true once every path has been seen.
    bool take(Process process) {
        if (!options.first_match_only) {
            section.processes.push_back(std::move(process));
            return false;
        }
        bool new_path = false;
        for (std::size_t i = 0; i < path_seen.size(); ++i) {
            if (!path_seen[i] && process_runs_path(process, options.paths[i])) {
                path_seen[i] = new_path = true;
                ++paths_seen;
            }
        }
        if (new_path || !runs_a_wanted_path(process)) {
            section.processes.push_back(std::move(process));
        }
        return paths_seen == path_seen.size();
    }

    void count_failure(int error, const Process& process) {
        // Only a reader without privilege is blind to other users' executables; to root a
        // refusal is a passing state of one process (a non-dumpable one mid-exec), not blindness.
        if (options.caller.euid != 0 && (process.exe_denied || is_denied(error))) {
            ++section.visibility.exe_denied;
        }
        if (error == 0 || error == ENOEXEC) return;
        if (is_gone(error)) {
            ++section.vanished;
        } else {
            ++section.visibility.inaccessible;
        }
    }
};

void sort_by_pid(std::vector<Process>& processes) {
    std::sort(processes.begin(), processes.end(),
              [](const Process& a, const Process& b) { return a.pid < b.pid; });
}

}  // namespace

ProcTree open_proc_tree(const std::string& host_root, LinkReader read_link) {
    ProcTree tree;
    tree.host_root = host_root;
    tree.dir = host_root + "/proc";
    tree.read_link = read_link ? std::move(read_link) : LinkReader(read_symlink);
    if (auto ns = tree.read_link(tree.dir + "/self/ns/mnt")) tree.own_mount_ns = std::move(*ns);
    return tree;
}

void identify_process(const ProcTree& tree, const std::string& pid_dir,
                      const Expected<std::string, int>& exe, std::string_view raw_cmdline,
                      Process& out) {
    PidLinkReader by_path = [&tree, &pid_dir](const char* name) {
        return tree.read_link(pid_dir + "/" + name);
    };
    identify_process(tree, by_path, exe, raw_cmdline, out);
}

void identify_process(const ProcTree& tree, const PidLinkReader& read_pid_link,
                      const Expected<std::string, int>& exe, std::string_view raw_cmdline,
                      Process& out) {
    if (exe) {
        out.exe = *exe;
        out.identity = ProcessIdentity::exe;
    } else if (is_denied(exe.error())) {
        out.exe_denied = true;
    }
    // Another user's ns link is as unreadable as its exe: such a process is taken to share the
    // reader's root (docs/inventory.md).
    if (tree.own_mount_ns) {
        auto ns = read_pid_link("ns/mnt");
        out.foreign_root = ns && *ns != *tree.own_mount_ns;
    }
    if (out.exe) {
        auto argv = split_cmdline(raw_cmdline);
        if (auto script = script_argument(*out.exe, argv)) {
            std::string cwd;
            if (!script->empty() && script->front() != '/') {
                if (auto link = read_pid_link("cwd")) cwd = std::move(*link);
            }
            out.script = resolve_script_path(*script, cwd);
        }
        return;
    }
    if (!out.exe_denied) return;  // a kernel thread, or gone
    auto argv = split_cmdline(raw_cmdline);
    CommandLineClaim claim = claim_from_cmdline(argv);
    if (claim.empty()) {
        if (!argv.empty()) {
            auto script = script_argument(argv.front(), argv);
            if (script) out.unresolved_script = std::move(*script);
        }
        return;
    }
    if (claim.exe) out.exe = resolve_on_host(tree.host_root, *claim.exe);
    out.script = std::move(claim.script);
    out.identity = ProcessIdentity::cmdline;
}

ProcessesSection scan_processes_running(const ProcTree& tree, const PathScanOptions& options) {
    Scan scan{tree, options, {}, std::vector<bool>(options.paths.size(), false), 0};
    if (options.paths.empty()) return scan.section;
    if (auto mountinfo = read_small_file(tree.dir + "/self/mountinfo", table_file_cap)) {
        scan.section.visibility = parse_proc_visibility(*mountinfo, options.caller);
    }
    if (options.first_match_only) {
        for (int pid : options.hint_pids) {
            Process process;
            if (scan.read(std::to_string(pid), process) == 0 && scan.runs_a_wanted_path(process) &&
                scan.take(std::move(process))) {
                sort_by_pid(scan.section.processes);
                return std::move(scan.section);
            }
        }
    }

    UniqueDir directory(::opendir(tree.dir.c_str()));
    if (!directory.valid()) {
        scan.section.status.error = "cannot list " + tree.dir + ": " + std::strerror(errno);
        return std::move(scan.section);
    }
    std::size_t seen = 0;
    while (dirent* entry = ::readdir(directory.get())) {
        if (!is_pid_name(entry->d_name)) continue;
        if (++seen > options.max_processes) {
            scan.section.status.error = "more than " + std::to_string(options.max_processes) +
                                        " processes: the list is incomplete";
            break;
        }
        if (seen % 64 == 0 && std::chrono::steady_clock::now() > options.deadline) {
            scan.section.status.error =
                "timed out after looking at " + std::to_string(seen) + " processes";
            break;
        }
        Process process;
        const int error = scan.read(entry->d_name, process);
        scan.count_failure(error, process);
        if (error != 0) continue;
        // A hint already kept stands for its path; the listing must not keep it a second time.
        bool kept = std::any_of(scan.section.processes.begin(), scan.section.processes.end(),
                                [&process](const Process& p) { return p.pid == process.pid; });
        if (!kept && scan.take(std::move(process))) break;
    }
    directory.reset();
    sort_by_pid(scan.section.processes);
    return std::move(scan.section);
}

PathRuns processes_running(const ProcTree& tree, const std::string& path) {
    PathScanOptions options;
    options.paths = {path};
    ProcessesSection section = scan_processes_running(tree, options);
    PathRuns runs;
    runs.error = section.status.error;
    if (!runs.error && section.visibility.restricted) {
        runs.error = "/proc is mounted with hidepid: other users' processes are out of sight";
    }
    for (const Process& process : section.processes) {
        if (process_runs_path(process, path)) {
            runs.processes.push_back({process.pid, process.start_ticks, process.identity});
        } else {
            ++runs.unidentified;
        }
    }
    return runs;
}

PathRuns processes_running(const std::string& host_root, const std::string& path) {
    return processes_running(open_proc_tree(host_root), path);
}

std::vector<RunningProcess> new_processes(const PathRuns& before, const PathRuns& after) {
    std::vector<RunningProcess> fresh;
    for (const RunningProcess& process : after.processes) {
        bool old = std::any_of(before.processes.begin(), before.processes.end(),
                               [&process](const RunningProcess& earlier) {
                                   return earlier.pid == process.pid &&
                                          earlier.start_ticks == process.start_ticks;
                               });
        if (!old) fresh.push_back(process);
    }
    return fresh;
}

std::string identity_note(ProcessIdentity identity) {
    return identity == ProcessIdentity::cmdline ? " (identified by its command line)" : "";
}

}  // namespace monsys::inventory
