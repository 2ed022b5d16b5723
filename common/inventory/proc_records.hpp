#pragma once
// Parsers of the /proc and /etc records the process readers use. Pure: text in, values out.
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

}  // namespace monsys::inventory
