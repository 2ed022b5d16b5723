// restart_timeout_secs stays 1..3600: the monsys-action@ unit's RuntimeMaxSec= (3720 s) is derived
// from this maximum plus the inspection margin, so a larger value would be killed by the sandbox
// after the token was consumed.
#include <doctest/doctest.h>

#include <string>

#include "common/config/config.hpp"

TEST_CASE("config: restart_timeout_secs is 1 to 3600") {
    for (int seconds : {1, 120, 3600}) {
        INFO(seconds);
        auto config = monsys::config::parse_config(R"({"restart_timeout_secs": )" +
                                                   std::to_string(seconds) + "}");
        REQUIRE(config);
        CHECK(config->restart_timeout_secs == seconds);
    }
    for (const char* bad : {"0", "-1", "3601", "86400", "1.5", "\"60\""}) {
        INFO(bad);
        auto config =
            monsys::config::parse_config(std::string(R"({"restart_timeout_secs": )") + bad + "}");
        REQUIRE_FALSE(config);
        CHECK(config.error().find("restart_timeout_secs") != std::string::npos);
    }
}
