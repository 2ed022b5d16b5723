#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "action-wrapper/restart/compose_restart.hpp"
#include "common/json/capped_json.hpp"

using namespace monsys::action;
using monsys::app::ComposeRef;
using monsys::io::docker::ContainerSummary;

namespace {

ContainerSummary container(std::string name, std::string project, std::string service) {
    ContainerSummary c;
    c.id = "id-" + name;
    c.names = {std::move(name)};
    if (!project.empty()) c.labels["com.docker.compose.project"] = std::move(project);
    if (!service.empty()) c.labels["com.docker.compose.service"] = std::move(service);
    return c;
}

std::string percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

RestartOutcome one(RestartStatus status, std::string error = {}) {
    RestartOutcome o;
    o.status = status;
    o.stderr_output.text = std::move(error);
    o.before = {{"StartedAt", "T1"}};
    o.after = {{"StartedAt", "T2"}};
    return o;
}

}  // namespace

TEST_CASE("compose: the list query asks for all containers with both labels") {
    std::string query = compose_list_query(ComposeRef{"shop", "web"});
    REQUIRE(query.rfind("?all=1&filters=", 0) == 0);
    auto filter = monsys::json::parse(percent_decode(query.substr(15)));
    REQUIRE(filter);
    CHECK(*filter ==
          nlohmann::json{
              {"label", {"com.docker.compose.project=shop", "com.docker.compose.service=web"}}});
}

TEST_CASE("compose: only containers carrying both labels with these values are members") {
    std::vector<ContainerSummary> listed = {container("shop-web-2", "shop", "web"),
                                            container("shop-db-1", "shop", "db"),
                                            container("other-web-1", "other", "web"),
                                            container("shop-web-1", "shop", "web"),
                                            container("loose", "", "web"),
                                            container("shop-web-x", "shop", "")};
    auto members = compose_members(listed, ComposeRef{"shop", "web"});
    REQUIRE(members.size() == 2);
    CHECK(members[0].names.front() == "shop-web-1");
    CHECK(members[1].names.front() == "shop-web-2");
}

TEST_CASE("compose: one-off containers (docker compose run) are not members") {
    // Recorded from podman 4.3.1: shop-web-1 (oneoff=False), shop-web-run-3f2a9c (oneoff=True),
    // shop-db-1 of another service.
    std::ifstream in(MONSYS_FIXTURES_DIR "/docker/podman-4.3.1/list_compose_oneoff.json");
    std::stringstream body;
    body << in.rdbuf();
    auto listed = monsys::io::docker::decode_container_list(body.str());
    REQUIRE(listed);
    REQUIRE(listed->size() == 3);

    auto members = compose_members(*listed, ComposeRef{"shop", "web"});
    REQUIRE(members.size() == 1);
    CHECK(members[0].names.front() == "shop-web-1");
    CHECK(compose_members(*listed, ComposeRef{"shop", "db"}).size() == 1);
}

TEST_CASE("compose: the one-off label is read as compose writes it") {
    ContainerSummary plain = container("shop-web-1", "shop", "web");
    CHECK_FALSE(is_oneoff_container(plain));
    for (const char* value : {"False", "false", "", "no"}) {
        CAPTURE(value);
        ContainerSummary c = plain;
        c.labels["com.docker.compose.oneoff"] = value;
        CHECK_FALSE(is_oneoff_container(c));
        CHECK(compose_members({c}, ComposeRef{"shop", "web"}).size() == 1);
    }
    for (const char* value : {"True", "true", "TRUE"}) {
        CAPTURE(value);
        ContainerSummary c = plain;
        c.labels["com.docker.compose.oneoff"] = value;
        CHECK(is_oneoff_container(c));
        CHECK(compose_members({c}, ComposeRef{"shop", "web"}).empty());
    }
}

TEST_CASE("compose: all restarted is a success") {
    auto combined =
        combine_compose_outcomes(ComposeRef{"shop", "web"}, {"a", "b"},
                                 {one(RestartStatus::succeeded), one(RestartStatus::succeeded)});
    CHECK(combined.status == RestartStatus::succeeded);
    CHECK(combined.exit_code == 0);
    CHECK(combined.stdout_output.text ==
          "compose service shop::web: 2/2 containers restarted (a, b)");
    CHECK(combined.stderr_output.text.empty());
    CHECK(combined.before["a"]["StartedAt"] == "T1");
    CHECK(combined.after["b"]["StartedAt"] == "T2");
}

TEST_CASE("compose: one failure fails the whole, a timeout wins over a failure") {
    auto failed = combine_compose_outcomes(
        ComposeRef{"shop", "web"}, {"a", "b"},
        {one(RestartStatus::succeeded), one(RestartStatus::failed, "exited right away")});
    CHECK(failed.status == RestartStatus::failed);
    CHECK(failed.exit_code == 1);
    CHECK(failed.stdout_output.text == "compose service shop::web: 1/2 containers restarted (a)");
    CHECK(failed.stderr_output.text == "b: exited right away");

    auto late = combine_compose_outcomes(
        ComposeRef{"shop", "web"}, {"a", "b"},
        {one(RestartStatus::timeout, "slow"), one(RestartStatus::failed, "bad")});
    CHECK(late.status == RestartStatus::timeout);
    CHECK(late.stderr_output.text == "a: slow; b: bad");
}

TEST_CASE("compose: nothing to restart is not a success") {
    auto none = combine_compose_outcomes(ComposeRef{"shop", "web"}, {}, {});
    CHECK(none.status == RestartStatus::failed);
}
