// no_proxy with curl's rules: which hub hosts bypass the proxy.
#include <doctest/doctest.h>

#include <string>

#include "agent/hub/no_proxy.hpp"

using monsys::agent::hub::no_proxy_matches;

TEST_CASE("no_proxy: an empty list matches nothing, '*' matches everything") {
    CHECK_FALSE(no_proxy_matches("", "hub.example.com"));
    CHECK_FALSE(no_proxy_matches(" , ,", "hub.example.com"));
    CHECK(no_proxy_matches("*", "hub.example.com"));
    CHECK(no_proxy_matches("*", "10.0.0.1"));
    CHECK(no_proxy_matches("intranet, *", "hub.example.com"));
}

TEST_CASE("no_proxy: names match themselves and names below them, on label boundaries") {
    CHECK(no_proxy_matches("example.com", "example.com"));
    CHECK(no_proxy_matches("example.com", "hub.example.com"));
    CHECK(no_proxy_matches(".example.com", "hub.example.com"));
    CHECK(no_proxy_matches(".example.com", "example.com"));
    CHECK(no_proxy_matches("Example.COM", "hub.example.com"));
    CHECK(no_proxy_matches("example.com.", "hub.example.com"));
    CHECK(no_proxy_matches("example.com", "hub.example.com."));
    CHECK_FALSE(no_proxy_matches("example.com", "badexample.com"));
    CHECK_FALSE(no_proxy_matches("hub.example.com", "example.com"));
    CHECK_FALSE(no_proxy_matches("example.co", "hub.example.com"));
    CHECK_FALSE(no_proxy_matches(".", "hub.example.com"));
}

TEST_CASE("no_proxy: separators are commas and white space; ports on entries are ignored") {
    CHECK(no_proxy_matches("localhost,127.0.0.1 , other.net\thub.example.com", "hub.example.com"));
    CHECK(no_proxy_matches("localhost other.net", "other.net"));
    CHECK(no_proxy_matches("hub.example.com:443", "hub.example.com"));
    CHECK(no_proxy_matches("10.0.0.5:8443", "10.0.0.5"));
    CHECK(no_proxy_matches("[fd00::5]:8443", "fd00::5"));
}

TEST_CASE("no_proxy: IP entries match addresses, exactly or by prefix length") {
    CHECK(no_proxy_matches("10.0.0.5", "10.0.0.5"));
    CHECK_FALSE(no_proxy_matches("10.0.0.5", "10.0.0.50"));
    CHECK(no_proxy_matches("10.0.0.0/8", "10.200.3.4"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "11.0.0.1"));
    CHECK(no_proxy_matches("192.168.4.0/22", "192.168.7.255"));
    CHECK_FALSE(no_proxy_matches("192.168.4.0/22", "192.168.8.1"));
    CHECK(no_proxy_matches("0.0.0.0/0", "8.8.8.8"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/33", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/x", "10.0.0.1"));
    CHECK(no_proxy_matches("::1", "::1"));
    CHECK(no_proxy_matches("fd00::/8", "fd12::1"));
    CHECK(no_proxy_matches("[fd00::]/8", "fd12::1"));
    CHECK_FALSE(no_proxy_matches("fd00::/8", "fe80::1"));
    // An address entry is not a name suffix, nor a name an address.
    CHECK_FALSE(no_proxy_matches("0.0.1", "10.0.0.1"));
    CHECK_FALSE(no_proxy_matches("localhost", "127.0.0.1"));
    CHECK_FALSE(no_proxy_matches("10.0.0.0/8", "ten.example"));
    // IPv4 and IPv6 do not mix.
    CHECK_FALSE(no_proxy_matches("127.0.0.1", "::1"));
    CHECK_FALSE(no_proxy_matches("::ffff:127.0.0.1", "127.0.0.1"));
}

TEST_CASE("no_proxy: oversized entries are skipped, the rest still count") {
    std::string list = std::string(10000, 'a') + ",hub.example.com";
    CHECK(no_proxy_matches(list, "hub.example.com"));
    CHECK_FALSE(no_proxy_matches(std::string(10000, 'a'), std::string(10000, 'a')));
}
