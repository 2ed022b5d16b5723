#include <doctest/doctest.h>

#include <chrono>

#include "agent/inventory/ports.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

TEST_CASE("ports: address decoding") {
    CHECK(decode_proc_net_address("0100007F") == "127.0.0.1");
    CHECK(decode_proc_net_address("00000000") == "0.0.0.0");
    CHECK(decode_proc_net_address("00000000000000000000000000000000") == "::");
    CHECK(decode_proc_net_address("00000000000000000000000001000000") == "::1");
    CHECK(decode_proc_net_address("0000000000000000FFFF00000100007F") == "::ffff:127.0.0.1");
    CHECK(decode_proc_net_address("XYZ") == "");
    CHECK(decode_proc_net_address("0100007G") == "");
}

TEST_CASE("ports: only listening TCP and unconnected UDP sockets") {
    auto section =
        read_ports(fixture("host1"), std::chrono::steady_clock::now() + std::chrono::seconds(5));
    CHECK(section.status.ok());
    REQUIRE(section.ports.size() == 5);
    // Sorted by protocol, port.
    const auto& smtp = section.ports[0];
    CHECK(smtp.protocol == "tcp");
    CHECK(smtp.port == 25);
    CHECK(smtp.address == "127.0.0.1");
    CHECK_FALSE(smtp.pid);
    const auto& http6 = section.ports[1];
    CHECK(http6.family == "ipv6");
    CHECK(http6.port == 80);
    CHECK(http6.uid == 33);
    CHECK(http6.pid == 103);
    CHECK(http6.exe == "/usr/sbin/nginx");
    const auto& ipp = section.ports[2];
    CHECK(ipp.port == 631);
    CHECK(ipp.address == "::1");
    const auto& app = section.ports[3];
    CHECK(app.port == 8080);
    CHECK(app.address == "0.0.0.0");
    CHECK(app.pid == 100);
    CHECK(app.exe == "/usr/bin/dash");
    const auto& dns = section.ports[4];
    CHECK(dns.protocol == "udp");
    CHECK(dns.port == 53);
    CHECK(dns.address == "127.0.0.53");
    CHECK(dns.pid == 103);
}

TEST_CASE("ports: malformed rows are skipped") {
    auto rows =
        parse_proc_net("header\n 0: nonsense\n 1: 0100007F:ZZZZ 00000000:0000 0A 0:0 0:0 0 0 0 1\n",
                       "tcp", "ipv4");
    CHECK(rows.empty());
}

TEST_CASE("ports: no /proc/net is a section error") {
    auto section = read_ports(fixture("does-not-exist"), std::chrono::steady_clock::now());
    CHECK_FALSE(section.status.ok());
}
