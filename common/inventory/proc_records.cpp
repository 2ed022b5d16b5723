#include "common/inventory/proc_records.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace monsys::inventory {
namespace {

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

}  // namespace monsys::inventory
