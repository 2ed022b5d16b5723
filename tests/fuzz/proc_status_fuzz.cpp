// The /proc/PID/status, /etc/passwd and /proc/self/mountinfo readers
// (common/inventory/proc_records). The same bytes go to each.
#include "common/inventory/proc_records.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace monsys::inventory;
    auto text = monsys::fuzz::as_text(data, size);
    (void)parse_status_euid(text);
    for (const auto& [uid, name] : parse_passwd(text)) {
        FUZZ_CHECK(name.find('\n') == std::string::npos);
    }
    (void)parse_proc_visibility(text, Credentials{0, {0}});
    (void)parse_proc_visibility(text, Credentials{1000, {1000, 27}});
    return 0;
}
