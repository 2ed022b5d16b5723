#pragma once
// The host section: identity, OS, kernel, uptime. Reads under a root directory.
#include <string>
#include <string_view>

#include "common/inventory/model.hpp"

namespace monsys::inventory {

OsRelease parse_os_release(std::string_view text);

// Reads root/etc/os-release (falling back to root/usr/lib/os-release) and root/proc/....
HostInfo read_host(const std::string& root);

}  // namespace monsys::inventory
