#include "agent/inventory/processes.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/inventory/file_reading.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/inventory/process_identity.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t stat_cap = 4096;
constexpr std::size_t status_cap = 16 * 1024;
constexpr std::size_t table_file_cap = 8 * 1024 * 1024;

template <class Number>
bool parse_number(std::string_view text, Number& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

template <class Visit>
void for_each_line(std::string_view text, Visit&& visit) {
    while (!text.empty()) {
        auto end = text.find('\n');
        visit(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

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
    const std::string& proc;
    const ProcessScanOptions& options;
    std::int64_t boot_time = 0;
    std::optional<std::string> own_mount_ns;
    std::map<std::uint32_t, std::string> users;
};

int read_process_identity(const ScanContext& context, const std::string& dir,
                          const std::string& pid_text, Process& out);

// `exe`: the /proc/PID/exe link when the caller has read it already.
void read_executable(const ScanContext& context, const std::string& dir,
                     std::string_view raw_cmdline, Process& out,
                     std::optional<Expected<std::string, int>> exe = std::nullopt);

// Reads one process. Returns the errno that stopped it, or 0 when `out` is filled.
int read_one_process(const ScanContext& context, const std::string& pid_text, Process& out) {
    std::string dir = context.proc + "/" + pid_text;
    if (context.options.identity_only) return read_process_identity(context, dir, pid_text, out);
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
    read_executable(context, dir, cmdline->text, out);
    return 0;
}

int read_process_identity(const ScanContext& context, const std::string& dir,
                          const std::string& pid_text, Process& out) {
    const auto& wanted = context.options.wanted_paths;
    out.pid = std::atoi(pid_text.c_str());
    if (wanted.empty()) {
        auto cmdline = read_proc_record(dir + "/cmdline", context.options.cmdline_cap);
        if (!cmdline) return cmdline.error();
        read_executable(context, dir, cmdline->text, out);
        return 0;
    }
    auto exe = read_symlink(dir + "/exe");
    // ENOENT here is a kernel thread (or a process that just exited): nothing to match.
    if (!exe) return exe.error() == ENOENT ? ENOEXEC : exe.error();
    // The same rule as the observed state's (process_runs_path), on what is known so far.
    auto runs_a_wanted_path = [&wanted](const Process& process) {
        return std::any_of(wanted.begin(), wanted.end(), [&process](const std::string& path) {
            return process_runs_path(process, path);
        });
    };
    // "sh" stands for argv[0], unknown yet: it makes busybox count as a possible shell.
    bool interpreter = is_interpreter(*exe, "sh");
    if (!interpreter) {
        Process by_exe;
        by_exe.exe = *exe;
        if (!runs_a_wanted_path(by_exe)) return ENOEXEC;
        std::string_view no_cmdline;
        read_executable(context, dir, no_cmdline, out, exe);
        return out.exe ? 0 : ENOEXEC;
    }
    auto cmdline = read_proc_record(dir + "/cmdline", context.options.cmdline_cap);
    if (!cmdline) return cmdline.error();
    read_executable(context, dir, cmdline->text, out, exe);
    return runs_a_wanted_path(out) ? 0 : ENOEXEC;
}

void read_executable(const ScanContext& context, const std::string& dir,
                     std::string_view raw_cmdline, Process& out,
                     std::optional<Expected<std::string, int>> exe) {
    if (!exe) exe = read_symlink(dir + "/exe");
    // exe is unreadable for kernel threads (ENOENT) and for others' processes without privilege.
    if (*exe) {
        out.exe = std::move(**exe);
    } else if (exe->error() == EACCES || exe->error() == EPERM) {
        out.exe_denied = true;
    }
    if (context.own_mount_ns) {
        auto ns = read_symlink(dir + "/ns/mnt");
        out.foreign_root = ns && *ns != *context.own_mount_ns;
    }
    if (out.exe) {
        auto argv = split_cmdline(raw_cmdline);
        if (auto script = script_argument(*out.exe, argv)) {
            std::string cwd;
            if (!script->empty() && script->front() != '/') {
                if (auto link = read_symlink(dir + "/cwd")) cwd = std::move(*link);
            }
            out.script = resolve_script_path(*script, cwd);
        }
    }
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return std::nullopt;
    }
    ProcStat stat;
    std::string_view pid_text = text.substr(0, open);
    while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
    if (!parse_number(pid_text, stat.pid)) return std::nullopt;
    stat.comm = std::string(text.substr(open + 1, close - open - 1));
    // Fields after the command, numbered as in proc(5) from 3 (state).
    auto rest = fields_of(text.substr(close + 1));
    constexpr std::size_t state_field = 3, ppid_field = 4, starttime_field = 22, rss_field = 24;
    if (rest.size() < rss_field - 2) return std::nullopt;
    auto field = [&rest](std::size_t number) { return rest[number - state_field]; };
    if (field(state_field).size() != 1) return std::nullopt;
    stat.state = field(state_field).front();
    if (!parse_number(field(ppid_field), stat.ppid) ||
        !parse_number(field(starttime_field), stat.start_ticks) ||
        !parse_number(field(rss_field), stat.rss_pages)) {
        return std::nullopt;
    }
    return stat;
}

std::optional<std::uint32_t> parse_status_euid(std::string_view text) {
    std::optional<std::uint32_t> euid;
    for_each_line(text, [&euid](std::string_view line) {
        if (euid || line.substr(0, 4) != "Uid:") return;
        auto fields = fields_of(line.substr(4));
        std::uint32_t value = 0;
        if (fields.size() >= 2 && parse_number(fields[1], value)) euid = value;
    });
    return euid;
}

std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat) {
    std::optional<std::int64_t> boot_time;
    for_each_line(proc_stat, [&boot_time](std::string_view line) {
        if (boot_time || line.substr(0, 6) != "btime ") return;
        std::int64_t value = 0;
        auto fields = fields_of(line);
        if (fields.size() == 2 && parse_number(fields[1], value)) boot_time = value;
    });
    return boot_time;
}

std::map<std::uint32_t, std::string> parse_passwd(std::string_view text) {
    std::map<std::uint32_t, std::string> users;
    for_each_line(text, [&users](std::string_view line) {
        if (line.empty() || line.front() == '#') return;
        auto first = line.find(':');
        if (first == std::string_view::npos) return;
        auto second = line.find(':', first + 1);
        if (second == std::string_view::npos) return;
        auto third = line.find(':', second + 1);
        if (third == std::string_view::npos) return;
        std::uint32_t uid = 0;
        if (!parse_number(line.substr(second + 1, third - second - 1), uid)) return;
        users.emplace(uid, std::string(line.substr(0, first)));
    });
    return users;
}

Credentials current_credentials() {
    Credentials credentials;
    credentials.euid = ::geteuid();
    credentials.groups.push_back(::getegid());
    gid_t groups[256];
    int count = ::getgroups(256, groups);
    for (int i = 0; i < count; ++i) credentials.groups.push_back(groups[i]);
    return credentials;
}

ProcessVisibility parse_proc_visibility(std::string_view mountinfo, const Credentials& caller) {
    ProcessVisibility visibility;
    // A plain pair, not std::optional: GCC 12 warns (falsely) about an uninitialized optional.
    bool has_exempt_gid = false;
    std::uint32_t exempt_gid = 0;
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
    for_each_line(mountinfo, [&](std::string_view line) {
        auto fields = fields_of(line);
        if (fields.size() < 10 || fields[4] != "/proc") return;
        auto separator = std::find(fields.begin() + 6, fields.end(), std::string_view("-"));
        if (separator == fields.end() || fields.end() - separator < 4) return;
        if (separator[1] != "proc") return;
        // The last mount on /proc wins: it hides the earlier ones.
        visibility.hidepid.reset();
        has_exempt_gid = false;
        std::string_view options = separator[3];
        while (!options.empty()) {
            auto comma = options.find(',');
            std::string_view option = options.substr(0, comma);
            if (option.substr(0, 8) == "hidepid=")
                visibility.hidepid = std::string(option.substr(8));
            if (option.substr(0, 4) == "gid=") {
                std::uint32_t gid = 0;
                if (parse_number(option.substr(4), gid)) {
                    exempt_gid = gid;
                    has_exempt_gid = true;
                }
            }
            if (comma == std::string_view::npos) break;
            options.remove_prefix(comma + 1);
        }
    });
    bool hiding = visibility.hidepid && *visibility.hidepid != "0" && *visibility.hidepid != "off";
    bool in_exempt_group = has_exempt_gid && std::find(caller.groups.begin(), caller.groups.end(),
                                                       exempt_gid) != caller.groups.end();
    bool exempt = caller.euid == 0 || in_exempt_group;
    visibility.restricted = hiding && !exempt;
    return visibility;
}

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
    const std::string proc = root + "/proc";
    ScanContext context{proc, options, 0, std::nullopt, {}};
    if (!options.identity_only) {
        if (auto text = read_small_file(proc + "/stat", table_file_cap)) {
            context.boot_time = parse_boot_time(*text).value_or(0);
        }
        if (auto passwd = read_small_file(root + "/etc/passwd", table_file_cap)) {
            context.users = parse_passwd(*passwd);
        }
    }
    if (auto ns = read_symlink(proc + "/self/ns/mnt")) context.own_mount_ns = std::move(*ns);
    if (auto mountinfo = read_small_file(proc + "/self/mountinfo", table_file_cap)) {
        section.visibility = parse_proc_visibility(*mountinfo, options.caller);
    }

    const bool running_as_root = options.caller.euid == 0;
    const bool stop_when_all_seen = options.first_match_only && !options.wanted_paths.empty();
    std::vector<bool> path_seen(options.wanted_paths.size(), false);
    std::size_t paths_seen = 0;
    // Keeps `process` if it runs a wanted path not seen yet; true once every path has been seen.
    auto take_first_match = [&](Process& process) {
        bool new_path = false;
        for (std::size_t i = 0; i < path_seen.size(); ++i) {
            if (!path_seen[i] && process_runs_path(process, options.wanted_paths[i])) {
                path_seen[i] = new_path = true;
                ++paths_seen;
            }
        }
        if (new_path) section.processes.push_back(std::move(process));
        return paths_seen == path_seen.size();
    };
    auto sorted = [](ProcessesSection done) {
        std::sort(done.processes.begin(), done.processes.end(),
                  [](const Process& a, const Process& b) { return a.pid < b.pid; });
        return done;
    };
    if (stop_when_all_seen) {
        for (int pid : options.hint_pids) {
            Process process;
            if (read_one_process(context, std::to_string(pid), process) == 0 &&
                take_first_match(process)) {
                return sorted(std::move(section));
            }
        }
    }

    DIR* directory = ::opendir(proc.c_str());
    if (!directory) {
        section.status.error = "cannot list " + proc + ": " + std::strerror(errno);
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
        if (error == 0 && stop_when_all_seen) {
            if (take_first_match(process)) break;
        } else if (error == 0) {
            section.processes.push_back(std::move(process));
        } else if (error == ENOEXEC) {
            continue;  // not one of the wanted paths
        } else if (is_gone(error)) {
            ++section.vanished;
        } else {
            ++section.visibility.inaccessible;
        }
    }
    ::closedir(directory);
    return sorted(std::move(section));
}

}  // namespace monsys::inventory
