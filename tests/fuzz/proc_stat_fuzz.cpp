// The /proc/PID/stat and /proc/stat readers (common/inventory/proc_records). A process names
// itself (comm), so the text between the parentheses is chosen by whoever runs it.
// Property: the command name is exactly the text between the first '(' and the last ')'.
#include "common/inventory/proc_records.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = monsys::fuzz::as_text(data, size);
    if (auto stat = monsys::inventory::parse_proc_stat(text)) {
        auto open = text.find('(');
        auto close = text.rfind(')');
        FUZZ_CHECK(stat->comm == text.substr(open + 1, close - open - 1));
    }
    (void)monsys::inventory::parse_boot_time(text);
    return 0;
}
