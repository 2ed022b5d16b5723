// The local policy parser of monsys-action (action-wrapper/policy), and the decisions made with
// what it accepts (glob patterns of denied units, restart command entries).
// Properties: an error is said, on one line (names from the file are escaped); accepted entry names
// are valid instance names; the built-in deny list holds whatever the file says.
#include <string>

#include "action-wrapper/policy/local_policy.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace monsys;
    auto policy = action::parse_policy(fuzz::as_text(data, size));
    if (!policy) {
        // One line: member and entry names are quoted escaped (as in config,
        // regressions/config/).
        FUZZ_CHECK(!policy.error().empty());
        FUZZ_CHECK(policy.error().find_first_of("\r\n") == std::string::npos);
        return 0;
    }
    for (const auto& [name, entry] : policy->restart_commands) {
        FUZZ_CHECK(action::is_valid_restart_entry_name(name));
        FUZZ_CHECK(!entry.app.empty() && entry.app.front() == '/');
        FUZZ_CHECK(!entry.command.empty() && entry.command.front() == '/');
    }
    const app::AppRef apps[] = {
        {"a", app::AppType::systemd, "nginx.service", ""},
        {"b", app::AppType::systemd, "getty@tty1.service", ""},
        {"c", app::AppType::systemd, "debug-shell.service", ""},
        {"d", app::AppType::docker, "web1", ""},
        {"e", app::AppType::compose, "shop::web", ""},
        {"f", app::AppType::process, "/opt/accapp/run", "/opt/accapp/restart"},
    };
    for (const auto& app : apps) {
        auto allowed = action::check_policy_allows(*policy, app);
        if (!allowed) FUZZ_CHECK(!allowed.error().empty());
        (void)action::restart_entry_for(*policy, app);
    }
    FUZZ_CHECK(!action::check_policy_allows(*policy, apps[2]));  // built in, never lifted
    return 0;
}
