#include <doctest/doctest.h>

#include <chrono>

#include "agent/inventory/packages.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

TEST_CASE("packages: dpkg status stanzas, multi-arch and continuation lines") {
    auto section =
        read_packages(fixture("host1"), std::chrono::steady_clock::now() + std::chrono::seconds(5));
    CHECK(section.status.ok());
    CHECK(section.manager == "dpkg");
    REQUIRE(section.packages.size() == 4);
    CHECK(section.packages[0].name == "libc6");
    CHECK(section.packages[0].architecture == "amd64");
    CHECK(section.packages[1].architecture == "i386");
    CHECK(section.packages[2].name == "nginx");
    CHECK(section.packages[2].version == "1.22.1-9");
    CHECK(section.packages[2].status == "installed");
    CHECK(section.packages[3].name == "oldtool");
    CHECK(section.packages[3].status == "config-files");
}

TEST_CASE("packages: dpkg status without a final newline, with CRLF") {
    auto packages = parse_dpkg_status("Package: a\r\nVersion: 1\r\nStatus: install ok installed");
    REQUIRE(packages.size() == 1);
    CHECK(packages[0].version == "1");
    CHECK(packages[0].status == "installed");
    CHECK(parse_dpkg_status("").empty());
}

TEST_CASE("packages: rpm query lines") {
    auto packages = parse_rpm_query(
        "bash\t0:5.2.26-3.fc40\tx86_64\nkernel\t1:6.8.5-301.fc40\tx86_64\nbroken\n");
    REQUIRE(packages.size() == 2);
    CHECK(packages[0].name == "bash");
    CHECK(packages[0].version == "5.2.26-3.fc40");
    CHECK(packages[1].version == "1:6.8.5-301.fc40");
    CHECK(packages[1].status == "installed");
}

TEST_CASE("packages: no package database is a section error") {
    auto section = read_packages(fixture("does-not-exist"), std::chrono::steady_clock::now());
    CHECK_FALSE(section.status.ok());
}
