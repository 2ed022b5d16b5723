#include <doctest/doctest.h>

#include <string>

#include "common/config/config.hpp"
#include "common/util/printable.hpp"

using monsys::printable_name;

TEST_CASE("printable_name escapes what could break a one-line message and caps the length") {
    CHECK(printable_name("hub_url") == "hub_url");
    CHECK(printable_name("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(printable_name(std::string("x\x01\x7f", 3)) == "x\\x01\\x7f");
    CHECK(printable_name("back\\slash") == "back\\\\slash");  // an escape cannot be forged
    CHECK(printable_name(std::string(100, 'a')) == std::string(64, 'a') + "...");
    CHECK(printable_name("abc", 2) == "ab...");
}

TEST_CASE("a config error quoting a member name with a line break stays one line") {
    auto config = monsys::config::parse_config("{\"a\\nb\": false}");
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error() == "field 'a\\nb': unknown field (see docs/configuration.md)");
    config = monsys::config::parse_config("{\"hub_keys\": {\"k\\r1\": 5}}");
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error().find_first_of("\r\n") == std::string::npos);
    CHECK(config.error().find("k\\r1") != std::string::npos);
}
