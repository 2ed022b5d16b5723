#include <doctest/doctest.h>

#include "common/app/identifier.hpp"

using namespace monsys::app;

TEST_CASE("identifier: systemd unit names") {
    CHECK(is_valid_unit_name("nginx.service"));
    CHECK(is_valid_unit_name("getty@tty1.service"));
    CHECK(is_valid_unit_name("dev-disk-by\\x2duuid.device"));
    CHECK(is_valid_unit_name("a:b_c.d-e.timer"));
    CHECK_FALSE(is_valid_unit_name(""));
    CHECK_FALSE(is_valid_unit_name("nginx"));
    CHECK_FALSE(is_valid_unit_name(".service"));
    CHECK_FALSE(is_valid_unit_name("a@b@c.service"));
    CHECK_FALSE(is_valid_unit_name(std::string(252, 'a') + ".service"));
}

TEST_CASE("identifier: injection attempts are refused for every type") {
    const char* hostile[] = {"nginx.service; rm -rf /",
                             "$(id).service",
                             "`id`.service",
                             "nginx.service\n",
                             "nginx\n.service",
                             "-nginx.service",
                             "--help.service",
                             "../etc/passwd",
                             "nginx.service ",
                             "a b.service",
                             "nginx.service\r",
                             "x|y.service",
                             "x&y.service",
                             "x'y.service",
                             "x\"y.service",
                             "x/y.service"};
    for (const char* id : hostile) {
        CAPTURE(id);
        CHECK_FALSE(check_identifier(AppType::systemd, id));
        CHECK_FALSE(check_identifier(AppType::docker, id));
        CHECK_FALSE(check_identifier(AppType::compose, id));
    }
    CHECK_FALSE(check_identifier(AppType::docker, "-web"));
    CHECK_FALSE(check_identifier(AppType::docker, "$(id)"));
    CHECK_FALSE(check_identifier(AppType::docker, "../web"));
    CHECK_FALSE(check_identifier(AppType::docker, "web;id"));
    CHECK_FALSE(check_identifier(AppType::compose, "proj::-svc"));
    CHECK_FALSE(check_identifier(AppType::compose, "-p::svc"));
    CHECK_FALSE(check_identifier(AppType::compose, "p::s::t"));
    CHECK_FALSE(check_identifier(AppType::compose, "P::svc"));
    CHECK_FALSE(check_identifier(AppType::compose, "p:svc"));
    CHECK_FALSE(check_identifier(AppType::compose, "::svc"));
    CHECK_FALSE(check_identifier(AppType::compose, "p::"));
}

TEST_CASE("identifier: check_identifier says why, in one line per type") {
    auto unit = check_identifier(AppType::systemd, "nginx");
    REQUIRE_FALSE(unit);
    CHECK(unit.error() == "not a valid systemd unit name (e.g. nginx.service)");
    auto container = check_identifier(AppType::docker, "-web");
    REQUIRE_FALSE(container);
    CHECK(container.error() == "not a valid container name or id");
    auto compose = check_identifier(AppType::compose, "p:svc");
    REQUIRE_FALSE(compose);
    CHECK(compose.error() ==
          "not a valid compose service (<project>::<service>, e.g. flowd_dev::app)");
    auto process = check_identifier(AppType::process, "bin/app");
    REQUIRE_FALSE(process);
    CHECK(process.error() == "not an absolute, normalized path");
    CHECK(check_identifier(AppType::systemd, "nginx.service"));
    CHECK(check_identifier(AppType::compose, "flowd_dev::app"));
    CHECK(check_identifier(AppType::process, "/usr/bin/app"));
}

TEST_CASE("identifier: docker and compose accept real names") {
    CHECK(check_identifier(AppType::docker, "web1"));
    CHECK(check_identifier(AppType::docker, "my_app.v2-blue"));
    CHECK(check_identifier(AppType::docker, "6995ccd6e08c"));
    auto ref = parse_compose_identifier("flowd_dev::app");
    REQUIRE(ref);
    CHECK(ref->project == "flowd_dev");
    CHECK(ref->service == "app");
}

TEST_CASE("identifier: process paths must be absolute and normalized") {
    CHECK(is_absolute_normalized_path("/opt/myapp/start.sh"));
    CHECK(is_absolute_normalized_path("/usr/bin/x"));
    CHECK_FALSE(is_absolute_normalized_path("opt/myapp/start.sh"));
    CHECK_FALSE(is_absolute_normalized_path("./start.sh"));
    CHECK_FALSE(is_absolute_normalized_path("/opt/../etc/shadow"));
    CHECK_FALSE(is_absolute_normalized_path("/opt/./x"));
    CHECK_FALSE(is_absolute_normalized_path("/opt//x"));
    CHECK_FALSE(is_absolute_normalized_path("/opt/x/"));
    CHECK_FALSE(is_absolute_normalized_path("/"));
    CHECK_FALSE(is_absolute_normalized_path("/opt/x\n"));
    CHECK_FALSE(is_absolute_normalized_path(std::string("/opt/x\0y", 8)));
}
