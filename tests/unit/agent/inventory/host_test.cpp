#include <doctest/doctest.h>

#include "agent/inventory/host.hpp"
#include "common/build_info.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

TEST_CASE("host: os-release quoting and comments") {
    auto os = parse_os_release(
        "NAME=\"Fedora \\\"Linux\\\"\"\nID=fedora\n# ID=ignored\nVERSION_ID=40\n"
        "PRETTY_NAME='Fedora Linux 40'\n  \nbroken line\n");
    CHECK(os.name == "Fedora \"Linux\"");
    CHECK(os.id == "fedora");
    CHECK(os.version_id == "40");
    CHECK(os.pretty_name == "Fedora Linux 40");
}

TEST_CASE("host: reads a fixture root") {
    auto host = read_host(fixture("host1"));
    CHECK(host.status.ok());
    CHECK(host.hostname == "web-01");
    CHECK(host.machine_id == "0123456789abcdef0123456789abcdef");
    CHECK(host.boot_id == "b1c2d3e4-0000-4000-8000-000000000001");
    CHECK(host.kernel == "6.1.0-18-amd64");
    CHECK(host.os.id == "debian");
    CHECK(host.os.version_id == "12");
    CHECK(host.os.version_codename == "bookworm");
    CHECK(host.os.pretty_name == "Debian GNU/Linux 12 (bookworm)");
    REQUIRE(host.uptime_secs);
    CHECK(*host.uptime_secs == doctest::Approx(12345.67));
    CHECK(host.agent_version == monsys::build_info::version);
}

TEST_CASE("host: an empty root is an error, not a crash") {
    auto host = read_host(fixture("does-not-exist"));
    CHECK_FALSE(host.status.ok());
    CHECK(host.hostname.empty());
    CHECK_FALSE(host.uptime_secs);
}
