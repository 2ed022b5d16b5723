#include "agent/inventory/packages.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/inventory/file_reading.hpp"
#include "common/io/process/child_process.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t package_db_cap = 256 * 1024 * 1024;
constexpr std::size_t rpm_output_cap = 64 * 1024 * 1024;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// "install ok installed" -> "installed": the last word is the package's state.
std::string dpkg_state(std::string_view status) {
    status = trim(status);
    auto space = status.rfind(' ');
    return std::string(space == std::string_view::npos ? status : status.substr(space + 1));
}

bool by_name_then_architecture(const Package& a, const Package& b) {
    return a.name != b.name ? a.name < b.name : a.architecture < b.architecture;
}

}  // namespace

std::vector<Package> parse_dpkg_status(std::string_view text) {
    std::vector<Package> packages;
    Package current;
    auto finish = [&packages, &current] {
        if (!current.name.empty()) packages.push_back(std::move(current));
        current = Package{};
    };
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
            finish();
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') continue;  // continuation of a field
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view key = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "Package")
            current.name = std::string(value);
        else if (key == "Version")
            current.version = std::string(value);
        else if (key == "Architecture")
            current.architecture = std::string(value);
        else if (key == "Status")
            current.status = dpkg_state(value);
    }
    finish();
    std::sort(packages.begin(), packages.end(), by_name_then_architecture);
    return packages;
}

std::vector<Package> parse_rpm_query(std::string_view text) {
    std::vector<Package> packages;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        auto first = line.find('\t');
        auto second = first == std::string_view::npos ? first : line.find('\t', first + 1);
        if (second == std::string_view::npos) continue;
        Package package;
        package.name = std::string(line.substr(0, first));
        std::string_view version = line.substr(first + 1, second - first - 1);
        // Epoch 0 is the default and rpm leaves it out when it prints versions.
        if (version.substr(0, 2) == "0:") version.remove_prefix(2);
        package.version = std::string(version);
        package.architecture = std::string(trim(line.substr(second + 1)));
        package.status = "installed";
        if (!package.name.empty()) packages.push_back(std::move(package));
    }
    std::sort(packages.begin(), packages.end(), by_name_then_architecture);
    return packages;
}

PackagesSection read_packages(const std::string& root,
                              std::chrono::steady_clock::time_point deadline) {
    PackagesSection section;
    const std::string dpkg_status = root + "/var/lib/dpkg/status";
    if (::access(dpkg_status.c_str(), F_OK) == 0) {
        section.manager = "dpkg";
        auto text = read_small_file(dpkg_status, package_db_cap);
        if (!text) {
            section.status.error =
                "cannot read " + dpkg_status + ": " + std::strerror(text.error());
            return section;
        }
        section.packages = parse_dpkg_status(*text);
        return section;
    }
    if (::access((root + "/var/lib/rpm").c_str(), F_OK) == 0) {
        section.manager = "rpm";
        io::process::ChildSpec spec;
        spec.path = "/usr/bin/rpm";
        spec.argv = {"rpm", "-qa", "--qf",
                     "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"};
        if (!root.empty() && root != "/") spec.argv.insert(spec.argv.begin() + 1, {"--root", root});
        spec.env = {"PATH=/usr/bin:/bin", "LC_ALL=C"};
        io::process::ChildLimits limits;
        limits.timeout = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now()),
                                  std::chrono::milliseconds(1));
        limits.kill_grace = std::chrono::milliseconds(200);
        limits.output_cap_bytes = rpm_output_cap;
        auto ran = io::process::run_child(spec, limits);
        if (!ran) {
            section.status.error = ran.error();
        } else if (ran->ending == io::process::ChildEnding::timed_out) {
            section.status.error = "rpm -qa did not finish in time";
        } else if (ran->ending != io::process::ChildEnding::exited || ran->exit_code != 0) {
            section.status.error =
                "rpm -qa failed (exit status " + std::to_string(ran->exit_code) + ")";
        } else if (ran->out.truncated) {
            section.status.error =
                "rpm -qa printed more than " + std::to_string(rpm_output_cap) + " bytes";
        } else {
            section.packages = parse_rpm_query(ran->out.text);
        }
        return section;
    }
    section.status.error = "no package database (neither dpkg nor rpm) under " +
                           (root.empty() ? std::string("/") : root);
    return section;
}

}  // namespace monsys::inventory
