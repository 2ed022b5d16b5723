#include "agent/inventory/host.hpp"

#include <charconv>

#include "common/build_info.hpp"
#include "common/inventory/file_reading.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t small_file_cap = 64 * 1024;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                             text.back() == '\n')) {
        text.remove_suffix(1);
    }
    return text;
}

// os-release values follow shell quoting: "..." with backslash escapes, '...' literal, or bare.
std::string unquote(std::string_view value) {
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
        return std::string(value.substr(1, value.size() - 2));
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
        std::string out;
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            out += value[i];
        }
        return out;
    }
    return std::string(value);
}

std::string first_line(const std::string& path) {
    auto text = read_small_file(path, small_file_cap);
    if (!text) return "";
    std::string_view view = *text;
    return std::string(trim(view.substr(0, view.find('\n'))));
}

}  // namespace

OsRelease parse_os_release(std::string_view text) {
    OsRelease os;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty() || line.front() == '#') continue;
        auto equals = line.find('=');
        if (equals == std::string_view::npos) continue;
        std::string_view key = line.substr(0, equals);
        std::string value = unquote(line.substr(equals + 1));
        if (key == "ID")
            os.id = value;
        else if (key == "VERSION_ID")
            os.version_id = value;
        else if (key == "NAME")
            os.name = value;
        else if (key == "PRETTY_NAME")
            os.pretty_name = value;
        else if (key == "VERSION_CODENAME")
            os.version_codename = value;
    }
    return os;
}

HostInfo read_host(const std::string& root) {
    HostInfo host;
    host.agent_version = build_info::version;
    auto os_release = read_small_file(root + "/etc/os-release", small_file_cap);
    if (!os_release) os_release = read_small_file(root + "/usr/lib/os-release", small_file_cap);
    if (os_release) host.os = parse_os_release(*os_release);
    host.hostname = first_line(root + "/proc/sys/kernel/hostname");
    host.machine_id = first_line(root + "/etc/machine-id");
    host.boot_id = first_line(root + "/proc/sys/kernel/random/boot_id");
    host.kernel = first_line(root + "/proc/sys/kernel/osrelease");
    std::string uptime = first_line(root + "/proc/uptime");
    double seconds = 0;
    auto [end, error] = std::from_chars(uptime.data(), uptime.data() + uptime.size(), seconds);
    if (error == std::errc() && end != uptime.data()) host.uptime_secs = seconds;
    if (!os_release && host.hostname.empty() && host.kernel.empty()) {
        host.status.error = "neither " + root + "/etc/os-release nor " + root + "/proc is readable";
    }
    return host;
}

}  // namespace monsys::inventory
