// Hub keys in the configuration: a key that cannot be a real hub key is a config error naming it.
#include <doctest/doctest.h>

#include <string>

#include "common/config/config.hpp"

namespace {

std::string config_error(const std::string& key) {
    auto config = monsys::config::parse_config(R"({"hub_keys": {"hub-1": ")" + key + R"("}})");
    REQUIRE_FALSE(config);
    return config.error();
}

}  // namespace

TEST_CASE("config: all-zero, small-order and non-canonical hub keys are config errors") {
    // Standard base64 of: all zeros, the identity, a point of order 8, y = p (non-canonical).
    const char* zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const char* identity = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const char* order8 = "xxdqcD1N2E+6PAt2DRBnDyogU/osOczGTsf9d5KsA3o=";
    const char* y_is_p = "7f///////////////////////////////////////38=";
    CHECK(config_error(zero).find("hub_keys") != std::string::npos);
    CHECK(config_error(zero).find("key \"hub-1\" is all zeros") != std::string::npos);
    for (const char* key : {identity, order8, y_is_p}) {
        INFO(key);
        CHECK(config_error(key).find("key \"hub-1\" is not a usable Ed25519 public key") !=
              std::string::npos);
    }
    CHECK(config_error("c2hvcnQ=").find("is not base64 of 32 bytes") != std::string::npos);
    // RFC 8037's example key is fine.
    CHECK(monsys::config::parse_config(
        R"({"hub_keys": {"hub-1": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}})"));
}
