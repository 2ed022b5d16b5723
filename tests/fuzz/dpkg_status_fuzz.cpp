// The dpkg status file parser (agent/inventory/packages), and the rpm query lines beside it.
// Any package's maintainer scripts and control fields end up in /var/lib/dpkg/status.
// Property: a parsed package has a name, and no field holds a line break.
#include <string>

#include "agent/inventory/packages.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

bool one_line(const std::string& text) {
    return text.find('\n') == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = monsys::fuzz::as_text(data, size);
    for (const auto& package : monsys::inventory::parse_dpkg_status(text)) {
        FUZZ_CHECK(!package.name.empty());
        FUZZ_CHECK(one_line(package.name) && one_line(package.version) &&
                   one_line(package.architecture) && one_line(package.status));
    }
    for (const auto& package : monsys::inventory::parse_rpm_query(text)) {
        FUZZ_CHECK(one_line(package.name) && one_line(package.version));
    }
    return 0;
}
