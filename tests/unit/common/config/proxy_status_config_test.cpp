// The config keys hub_proxy (three states: unset, "" and a URL) and status_file.
#include <doctest/doctest.h>

#include <string>

#include "common/config/config.hpp"

using monsys::config::parse_config;

TEST_CASE("config: hub_proxy unset, null, \"\" and a URL are three different things") {
    auto unset = parse_config("{}");
    REQUIRE(unset);
    CHECK_FALSE(unset->hub_proxy.has_value());  // the environment decides

    auto null = parse_config(R"({"hub_proxy": null})");
    REQUIRE(null);
    CHECK_FALSE(null->hub_proxy.has_value());

    auto none = parse_config(R"({"hub_proxy": ""})");
    REQUIRE(none);
    REQUIRE(none->hub_proxy.has_value());
    CHECK(none->hub_proxy->empty());  // no proxy, whatever the environment says

    auto proxy = parse_config(R"({"hub_proxy": "http://user:secret@proxy.example:3128"})");
    REQUIRE(proxy);
    CHECK(proxy->hub_proxy == "http://user:secret@proxy.example:3128");
}

TEST_CASE("config: hub_proxy must be a string with an http:// or https:// scheme") {
    auto number = parse_config(R"({"hub_proxy": 3128})");
    REQUIRE_FALSE(number);
    CHECK(number.error() == "field 'hub_proxy': must be a string");

    auto socks = parse_config(R"({"hub_proxy": "socks5://proxy.example:1080"})");
    REQUIRE_FALSE(socks);
    CHECK(socks.error().find("field 'hub_proxy'") == 0);
    CHECK(socks.error().find("http://") != std::string::npos);
}

TEST_CASE("config: status_file defaults under /run and must be absolute") {
    auto defaults = parse_config("{}");
    REQUIRE(defaults);
    CHECK(defaults->status_file == "/run/monsys-agent/status.json");

    auto own = parse_config(R"({"status_file": "/tmp/agent-1/status.json"})");
    REQUIRE(own);
    CHECK(own->status_file == "/tmp/agent-1/status.json");

    auto relative = parse_config(R"({"status_file": "status.json"})");
    REQUIRE_FALSE(relative);
    CHECK(relative.error() == "field 'status_file': must be an absolute path");
}
