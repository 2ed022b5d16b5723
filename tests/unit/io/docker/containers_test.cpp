#include <doctest/doctest.h>

#include "common/io/docker/containers.hpp"
#include "common/io/docker/docker_client.hpp"
#include "tests/unit/io/fixture.hpp"

using namespace monsys::io::docker;
using monsys::testing::read_fixture;

namespace {

// Splits a recorded raw response head into a Response (status and headers).
Response response_from_head(const std::string& head) {
    Response response;
    std::size_t pos = head.find("\r\n");
    response.status = static_cast<unsigned>(std::stoul(head.substr(9, 3)));
    while (pos != std::string::npos) {
        std::size_t next = head.find("\r\n", pos + 2);
        std::string line = head.substr(pos + 2, next == std::string::npos ? next : next - pos - 2);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.erase(0, 1);
            response.headers.emplace_back(line.substr(0, colon), value);
        }
        pos = next;
    }
    return response;
}

}  // namespace

TEST_CASE("docker decode: podman's inspect of a running container") {
    auto state = decode_container_inspect(read_fixture("docker/podman-4.3.1/inspect_running.json"));
    REQUIRE(state);
    CHECK(state->name == "web1");
    CHECK(state->status == "running");
    CHECK(state->running);
    CHECK(state->pid == 11275);
    CHECK(state->started_at == "2026-11-28T00:01:26.61529441Z");
    CHECK(state->restart_count == 0);
    CHECK(state->labels.at("com.docker.compose.service") == "web");
    CHECK(state->id.size() == 64);
}

TEST_CASE("docker decode: podman's inspect of a never-started and of an exited container") {
    auto created =
        decode_container_inspect(read_fixture("docker/podman-4.3.1/inspect_created.json"));
    REQUIRE(created);
    CHECK(created->status == "created");
    CHECK_FALSE(created->running);
    CHECK(created->started_at == "0001-01-01T00:00:00Z");

    auto exited = decode_container_inspect(read_fixture("docker/podman-4.3.1/inspect_exited.json"));
    REQUIRE(exited);
    CHECK(exited->status == "exited");
    CHECK(exited->exit_code == 3);
    CHECK(exited->pid == 0);
    // podman quirk: FinishedAt precedes the StartedAt of the run that just ended.
    CHECK(exited->finished_at < exited->started_at);
}

TEST_CASE("docker decode: Docker's inspect") {
    auto state =
        decode_container_inspect(read_fixture("docker/docker-engine-24/inspect_running.json"));
    REQUIRE(state);
    CHECK(state->name == "proj-web-1");
    CHECK(state->running);
    CHECK(state->pid == 23145);
    CHECK(state->labels.at("com.docker.compose.project") == "proj");
    auto exited =
        decode_container_inspect(read_fixture("docker/docker-engine-24/inspect_exited.json"));
    REQUIRE(exited);
    CHECK(exited->exit_code == 3);
    CHECK(exited->finished_at > exited->started_at);
}

TEST_CASE("docker decode: container lists of both engines") {
    auto podman = decode_container_list(read_fixture("docker/podman-4.3.1/list_all.json"));
    REQUIRE(podman);
    CHECK(podman->size() == 4);
    bool found_web = false;
    for (const auto& c : *podman) {
        CHECK(!c.names.empty());
        CHECK(c.names.front().front() != '/');
        if (c.names.front() == "web1") {
            found_web = true;
            CHECK(c.labels.at("com.docker.compose.project") == "p1");
            CHECK(c.state == "running");
        }
    }
    CHECK(found_web);

    auto docker = decode_container_list(read_fixture("docker/docker-engine-24/list.json"));
    REQUIRE(docker);
    REQUIRE(docker->size() == 2);
    CHECK((*docker)[1].names == std::vector<std::string>{"proj-db-1"});
    CHECK((*docker)[1].state == "exited");
    CHECK((*docker)[1].created == 1701683880);
}

TEST_CASE("docker decode: hostile or broken replies are refused, not trusted") {
    CHECK_FALSE(decode_container_inspect("not json"));
    CHECK_FALSE(decode_container_inspect("[]"));
    CHECK_FALSE(decode_container_inspect(R"({"Id":"x"})"));
    CHECK_FALSE(decode_container_list(R"({"Id":"x"})"));
    CHECK_FALSE(decode_container_list(R"([1])"));
    CHECK_FALSE(decode_container_list(R"([{"Names":["/a"]}])"));
    // Too many entries.
    std::string many = "[";
    for (int i = 0; i < 11; ++i) many += std::string(i ? "," : "") + R"({"Id":"a"})";
    many += "]";
    auto capped = decode_container_list(many, 10);
    REQUIRE_FALSE(capped);
    CHECK(capped.error() == "container list has 11 entries, more than the limit of 10");
    // Too deep.
    CHECK_FALSE(decode_container_list(std::string(100, '[') + std::string(100, ']')));
    // Wrong types are ignored field by field.
    auto odd = decode_container_inspect(
        R"({"Id":"abc","Name":5,"State":{"Status":7,"Running":"yes","Pid":"12"}})");
    REQUIRE(odd);
    CHECK(odd->name.empty());
    CHECK_FALSE(odd->running);
    CHECK(odd->pid == 0);
}

TEST_CASE("docker decode: error replies become one line") {
    Response podman{404, {}, read_fixture("docker/podman-4.3.1/inspect_404.json")};
    CHECK(describe_http_failure(podman) ==
          "HTTP 404: no container with name or ID \"nope\" found: no such container");
    Response docker{404, {}, read_fixture("docker/docker-engine-24/error_404.json")};
    CHECK(describe_http_failure(docker) == "HTTP 404: No such container: nope");
    Response start{500, {}, read_fixture("docker/podman-4.3.1/restart_500.json")};
    CHECK(describe_http_failure(start).rfind("HTTP 500: runc: runc create failed", 0) == 0);
    Response plain{502, {}, "<html>bad gateway</html>"};
    CHECK(describe_http_failure(plain) == "HTTP 502");
    Response multiline{500, {}, R"({"message":"a\nb"})"};
    CHECK(describe_http_failure(multiline) == "HTTP 500: a b");
}

TEST_CASE("docker: the Api-Version header of both engines' /_ping") {
    auto podman = response_from_head(read_fixture("docker/podman-4.3.1/ping.headers"));
    CHECK(podman.status == 200);
    CHECK(podman.header("api-version") == "1.41");
    CHECK(podman.header("Libpod-Api-Version") == "4.3.1");
    auto docker = response_from_head(read_fixture("docker/docker-engine-24/ping.headers"));
    CHECK(docker.header("API-VERSION") == "1.43");
    CHECK_FALSE(docker.header("Libpod-Api-Version"));
}

TEST_CASE("docker: URL encoding of path parts and filters") {
    CHECK(url_encode("web-1_a.b~") == "web-1_a.b~");
    CHECK(url_encode("a/../b c") == "a%2F..%2Fb%20c");
    CHECK(url_encode("x?y&z=#") == "x%3Fy%26z%3D%23");
    CHECK(url_encode("\xff") == "%FF");
    CHECK(label_filter_query({"a=b", "c=d"}) ==
          "%7B%22label%22%3A%5B%22a%3Db%22%2C%22c%3Dd%22%5D%7D");
}
