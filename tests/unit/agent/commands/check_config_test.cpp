#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "agent/commands/check_config_command.hpp"

using monsys::agent::commands::check_runtime_limit;
using monsys::agent::commands::check_state_dir_layout;

TEST_CASE("check-config: the packaged RuntimeMaxSec fits the largest restart_timeout_secs") {
    constexpr std::uint64_t packaged_usec = 3720ULL * 1000000ULL;
    CHECK(check_runtime_limit(packaged_usec, 3600).has_value());
    CHECK(check_runtime_limit(packaged_usec, 120).has_value());
    CHECK(check_runtime_limit(std::numeric_limits<std::uint64_t>::max(), 3600));
}

TEST_CASE("check-config: a drop-in below restart_timeout_secs + 60 s is a conflict") {
    // The old unit's 180 s against a 3600 s restart timeout.
    auto conflict = check_runtime_limit(180ULL * 1000000ULL, 3600);
    REQUIRE_FALSE(conflict.has_value());
    CHECK(conflict.error().find("RuntimeMaxSec=180s") != std::string::npos);
    CHECK(conflict.error().find("at least 3660s") != std::string::npos);
    CHECK(conflict.error().find("restart_timeout_secs (3600 s)") != std::string::npos);
    // Exactly the margin is enough; a microsecond less is not.
    CHECK(check_runtime_limit(180ULL * 1000000ULL, 120).has_value());
    CHECK_FALSE(check_runtime_limit(180ULL * 1000000ULL - 1, 120).has_value());
}

TEST_CASE("check-config: the old state_dir /var/lib/monsys/eat is an error with the fix") {
    for (const char* old :
         {"/var/lib/monsys/eat", "/var/lib/monsys/eat/", "/var/lib//monsys/eat"}) {
        auto layout = check_state_dir_layout(old, "/etc/monsys/agent.json");
        REQUIRE_MESSAGE(!layout.has_value(), old);
        CHECK(layout.error().find("remove the \"state_dir\" line from /etc/monsys/agent.json") !=
              std::string::npos);
    }
    CHECK(check_state_dir_layout("/var/lib/monsys-action", "/etc/monsys/agent.json"));
    CHECK(check_state_dir_layout("/var/lib/monsys/eaten", "/etc/monsys/agent.json"));
    CHECK(check_state_dir_layout("/srv/monsys/eat", "/etc/monsys/agent.json"));
}
