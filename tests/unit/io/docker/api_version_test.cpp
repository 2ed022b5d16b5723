#include <doctest/doctest.h>

#include "common/io/docker/api_version.hpp"

using monsys::io::docker::ApiVersion;
using monsys::io::docker::choose_api_version;
using monsys::io::docker::kNewestKnownApiVersion;
using monsys::io::docker::parse_api_version;

TEST_CASE("api version: parses major.minor and nothing else") {
    CHECK(parse_api_version("1.41") == ApiVersion{1, 41});
    CHECK(parse_api_version("1.9") == ApiVersion{1, 9});
    CHECK_FALSE(parse_api_version(""));
    CHECK_FALSE(parse_api_version("1"));
    CHECK_FALSE(parse_api_version("1."));
    CHECK_FALSE(parse_api_version(".41"));
    CHECK_FALSE(parse_api_version("1.41.0"));
    CHECK_FALSE(parse_api_version("v1.41"));
    CHECK_FALSE(parse_api_version("1.-4"));
    CHECK_FALSE(parse_api_version("1.99999"));
    CHECK(ApiVersion{1, 41}.to_string() == "1.41");
}

TEST_CASE("api version: compares numerically, not as text") {
    CHECK(ApiVersion{1, 9} < ApiVersion{1, 41});
    CHECK(ApiVersion{2, 0} > ApiVersion{1, 99});
}

TEST_CASE("api version: the choice is min(server, newest known)") {
    CHECK(choose_api_version("1.41").value() == ApiVersion{1, 41});  // podman 4.3, Docker 20.10
    CHECK(choose_api_version("1.43").value() == ApiVersion{1, 43});
    CHECK(choose_api_version("1.47").value() == kNewestKnownApiVersion);  // a newer engine
    CHECK(choose_api_version("2.0").value() == kNewestKnownApiVersion);
    CHECK(choose_api_version("1.24").value() == ApiVersion{1, 24});
}

TEST_CASE("api version: too old or unreadable versions are refused with a reason") {
    auto old = choose_api_version("1.12");
    REQUIRE_FALSE(old);
    CHECK(old.error() == "the engine's API version 1.12 is older than the oldest supported, 1.24");
    auto junk = choose_api_version("4.3.1");  // podman's own API version is not Docker's
    REQUIRE_FALSE(junk);
    CHECK(junk.error() == "the engine reports an unreadable API version \"4.3.1\"");
}
