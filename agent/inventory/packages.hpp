#pragma once
// The packages section: dpkg's status file, or the rpm database (through `rpm -qa`) where rpm is
// the host's package manager.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

std::vector<Package> parse_dpkg_status(std::string_view text);

// Lines of `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\n'`.
std::vector<Package> parse_rpm_query(std::string_view text);

PackagesSection read_packages(const std::string& root,
                              std::chrono::steady_clock::time_point deadline);

}  // namespace monsys::inventory
