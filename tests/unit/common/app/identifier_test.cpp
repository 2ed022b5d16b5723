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
        CHECK(identifier_problem(AppType::systemd, id).has_value());
        CHECK(identifier_problem(AppType::docker, id).has_value());
        CHECK(identifier_problem(AppType::compose, id).has_value());
    }
    CHECK(identifier_problem(AppType::docker, "-web").has_value());
    CHECK(identifier_problem(AppType::docker, "$(id)").has_value());
    CHECK(identifier_problem(AppType::docker, "../web").has_value());
    CHECK(identifier_problem(AppType::docker, "web;id").has_value());
    CHECK(identifier_problem(AppType::compose, "proj::-svc").has_value());
    CHECK(identifier_problem(AppType::compose, "-p::svc").has_value());
    CHECK(identifier_problem(AppType::compose, "p::s::t").has_value());
    CHECK(identifier_problem(AppType::compose, "P::svc").has_value());
    CHECK(identifier_problem(AppType::compose, "p:svc").has_value());
    CHECK(identifier_problem(AppType::compose, "::svc").has_value());
    CHECK(identifier_problem(AppType::compose, "p::").has_value());
}

TEST_CASE("identifier: docker and compose accept real names") {
    CHECK_FALSE(identifier_problem(AppType::docker, "web1").has_value());
    CHECK_FALSE(identifier_problem(AppType::docker, "my_app.v2-blue").has_value());
    CHECK_FALSE(identifier_problem(AppType::docker, "6995ccd6e08c").has_value());
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
