#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "agent/commands/check_config_command.hpp"

using monsys::agent::commands::old_state_dir_problem;
using monsys::agent::commands::runtime_limit_conflict;

TEST_CASE("check-config: the packaged RuntimeMaxSec fits the largest restart_timeout_secs") {
    constexpr std::uint64_t packaged_usec = 3720ULL * 1000000ULL;
    CHECK_FALSE(runtime_limit_conflict(packaged_usec, 3600).has_value());
    CHECK_FALSE(runtime_limit_conflict(packaged_usec, 120).has_value());
    CHECK_FALSE(runtime_limit_conflict(std::numeric_limits<std::uint64_t>::max(), 3600));
}

TEST_CASE("check-config: a drop-in below restart_timeout_secs + 60 s is a conflict") {
    // The old unit's 180 s against a 3600 s restart timeout.
    auto conflict = runtime_limit_conflict(180ULL * 1000000ULL, 3600);
    REQUIRE(conflict.has_value());
    CHECK(conflict->find("RuntimeMaxSec=180s") != std::string::npos);
    CHECK(conflict->find("at least 3660s") != std::string::npos);
    CHECK(conflict->find("restart_timeout_secs (3600 s)") != std::string::npos);
    // Exactly the margin is enough; a microsecond less is not.
    CHECK_FALSE(runtime_limit_conflict(180ULL * 1000000ULL, 120).has_value());
    CHECK(runtime_limit_conflict(180ULL * 1000000ULL - 1, 120).has_value());
}

TEST_CASE("check-config: the old state_dir /var/lib/monsys/eat is an error with the fix") {
    for (const char* old :
         {"/var/lib/monsys/eat", "/var/lib/monsys/eat/", "/var/lib//monsys/eat"}) {
        auto problem = old_state_dir_problem(old, "/etc/monsys/agent.json");
        REQUIRE_MESSAGE(problem.has_value(), old);
        CHECK(problem->find("remove the \"state_dir\" line from /etc/monsys/agent.json") !=
              std::string::npos);
    }
    CHECK_FALSE(old_state_dir_problem("/var/lib/monsys-action", "/etc/monsys/agent.json"));
    CHECK_FALSE(old_state_dir_problem("/var/lib/monsys/eaten", "/etc/monsys/agent.json"));
    CHECK_FALSE(old_state_dir_problem("/srv/monsys/eat", "/etc/monsys/agent.json"));
}
