// restart_compose_service against podman's Docker-compatible API: containers labelled as a
// Compose service, with a neighbour of another service that must stay untouched.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "action-wrapper/restart/compose_restart.hpp"
#include "tests/integration/restart/docker_support.hpp"

namespace {

using monsys::action::RestartStatus;
using namespace monsys::testing;
using namespace std::chrono_literals;

std::string compose_labels(const std::string& project, const std::string& service) {
    return "--label com.docker.compose.project=" + shell_quote(project) +
           " --label com.docker.compose.service=" + shell_quote(service);
}

}  // namespace

TEST_CASE("compose: every container of the service restarts, another service's does not") {
    REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
    const std::string project = unique_name("proj");
    std::vector<std::unique_ptr<TestContainer>> web;
    for (int i = 0; i < 3; ++i) {
        web.push_back(std::make_unique<TestContainer>("web", sh_c(kPromptStopCommand), true,
                                                      compose_labels(project, "web")));
        REQUIRE_MESSAGE(web.back()->ok(), web.back()->setup_output());
    }
    TestContainer db("db", sh_c(kPromptStopCommand), true, compose_labels(project, "db"));
    REQUIRE_MESSAGE(db.ok(), db.setup_output());
    std::vector<std::string> started_before;
    for (const auto& c : web) started_before.push_back(c->started_at());
    const std::string db_started = db.started_at();

    auto outcome = monsys::action::restart_compose_service(
        test_docker(), monsys::app::ComposeRef{project, "web"}, 120s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.stdout_output.text.find(": 3/3 containers restarted") != std::string::npos);
    for (std::size_t i = 0; i < web.size(); ++i) {
        CHECK(web[i]->started_at() != started_before[i]);
        CHECK(web[i]->inspect("{{.State.Status}}") == "running");
        CHECK(outcome.after.contains(web[i]->name()));
        CHECK(outcome.before[web[i]->name()]["StartedAt"] !=
              outcome.after[web[i]->name()]["StartedAt"]);
    }
    CHECK(outcome.after.size() == 3);
    CHECK(!outcome.after.contains(db.name()));
    CHECK(db.started_at() == db_started);
}

TEST_CASE("compose: a one-off container of the service (docker compose run) is not restarted") {
    REQUIRE(TestEnv::get().ready());
    const std::string project = unique_name("oneoff");
    TestContainer web("web", sh_c(kPromptStopCommand), true,
                      compose_labels(project, "web") + " --label com.docker.compose.oneoff=False");
    TestContainer task("web-run", sh_c(kPromptStopCommand), true,
                       compose_labels(project, "web") + " --label com.docker.compose.oneoff=True");
    REQUIRE_MESSAGE(web.ok(), web.setup_output());
    REQUIRE_MESSAGE(task.ok(), task.setup_output());
    const std::string web_started = web.started_at();
    const std::string task_started = task.started_at();

    auto outcome = monsys::action::restart_compose_service(
        test_docker(), monsys::app::ComposeRef{project, "web"}, 120s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.stdout_output.text == "compose service " + project +
                                            "::web: 1/1 containers restarted (" + web.name() +
                                            ") (1 one-off container left out)");
    CHECK(web.started_at() != web_started);
    CHECK(task.started_at() == task_started);
    CHECK(!outcome.after.contains(task.name()));
}

TEST_CASE("compose: a service with only one-off containers has none to restart") {
    REQUIRE(TestEnv::get().ready());
    const std::string project = unique_name("onlyrun");
    TestContainer task("web-run", sh_c(kPromptStopCommand), true,
                       compose_labels(project, "web") + " --label com.docker.compose.oneoff=True");
    REQUIRE_MESSAGE(task.ok(), task.setup_output());
    const std::string task_started = task.started_at();

    auto outcome = monsys::action::restart_compose_service(
        test_docker(), monsys::app::ComposeRef{project, "web"}, 30s);

    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("has no containers") != std::string::npos);
    CHECK(outcome.stderr_output.text.ends_with("(1 one-off container left out)"));
    CHECK(task.started_at() == task_started);
}

TEST_CASE("compose: a service without containers is a failure") {
    REQUIRE(TestEnv::get().ready());
    const std::string project = unique_name("empty");
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_compose_service(
        test_docker(), monsys::app::ComposeRef{project, "web"}, 30s);

    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text ==
          "compose service " + project +
              "::web has no containers (none carries the labels com.docker.compose.project=" +
              project + " and com.docker.compose.service=web)");
}

TEST_CASE("compose: one container that fails makes the whole restart fail, others still restart") {
    REQUIRE(TestEnv::get().ready());
    const std::string project = unique_name("mixed");
    TestContainer good("good", sh_c(kPromptStopCommand), true, compose_labels(project, "api"));
    TestContainer bad("bad", sh_c("exit 4"), false, compose_labels(project, "api"));
    REQUIRE(good.ok());
    REQUIRE(bad.ok());
    const std::string good_started = good.started_at();

    auto outcome = monsys::action::restart_compose_service(
        test_docker(), monsys::app::ComposeRef{project, "api"}, 120s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stdout_output.text.find(": 1/2 containers restarted") != std::string::npos);
    CHECK(outcome.stderr_output.text.find(bad.name() + ": ") != std::string::npos);
    CHECK(good.started_at() != good_started);
}
