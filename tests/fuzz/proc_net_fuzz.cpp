// The /proc/net/{tcp,tcp6,udp,udp6} readers (agent/inventory/ports). The first byte picks the
// table's protocol and family; the rest is the table.
// Properties: every row kept is of the table's protocol and family with a readable address;
// an address decodes only from 8 or 32 hex digits.
#include <string>

#include "agent/inventory/ports.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [mode, text] = monsys::fuzz::mode_and_rest(data, size);
    std::string protocol = (mode & 1) ? "udp" : "tcp";
    std::string family = (mode & 2) ? "ipv6" : "ipv4";
    for (const auto& port : monsys::inventory::parse_proc_net(text, protocol, family)) {
        FUZZ_CHECK(port.protocol == protocol && port.family == family);
        FUZZ_CHECK(!port.address.empty());
    }
    auto address = monsys::inventory::decode_proc_net_address(text.substr(0, 40));
    if (!address.empty()) FUZZ_CHECK(text.substr(0, 40).size() == 8 || text.substr(0, 40).size() == 32);
    return 0;
}
