// The Docker container source against the test environment's podman: the list through the async
// client, container events pushed within a second (measured), the engine's real exec events (which
// the observer does not follow), compose labels on events, the since= resume after the stream is
// dropped, and a missing socket.
#include "agent/observe/docker_source.hpp"
#include "agent/observe/observer.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/restart/docker_support.hpp"
#include "tests/integration/support/testenv.hpp"

using namespace monsys;
using namespace std::chrono_literals;
using monsys::agent::observe::ContainerEvent;
using monsys::agent::observe::DockerSource;
using monsys::agent::observe::SourceEvents;
using Clock = std::chrono::steady_clock;

namespace {

void require_testenv() {
    const auto& env = testing::TestEnv::get();
    REQUIRE_MESSAGE(env.ready(), "test environment missing: run through ctest (fixture testenv)");
    REQUIRE_MESSAGE(!env.docker_socket().empty(), "no Docker socket in the testenv");
}

// A source on a private io_context, run from the test thread in slices; what it pushes is logged
// in order ("event <action> <name>", "resync").
struct Harness {
    asio::io_context io;
    std::vector<ContainerEvent> events;
    std::vector<Clock::time_point> event_times;
    std::vector<std::string> log;
    int resyncs = 0;
    std::unique_ptr<DockerSource> source;

    explicit Harness(io::DockerSettings settings) {
        SourceEvents pushed;
        pushed.container_changed = [this](const ContainerEvent& event) {
            events.push_back(event);
            event_times.push_back(Clock::now());
            log.push_back("event " + event.action + " " + event.name);
        };
        pushed.containers_resync = [this] {
            ++resyncs;
            log.push_back("resync");
        };
        source = std::make_unique<DockerSource>(io.get_executor(), std::move(settings), pushed);
    }
    ~Harness() {
        source->stop();
        io.restart();
        io.run_for(100ms);  // let the stopped operations finish
    }

    bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
        auto until = Clock::now() + limit;
        while (!condition() && Clock::now() < until) {
            io.restart();
            io.run_for(10ms);
        }
        return condition();
    }

    // The index of the first event naming `name` from `from` on, or -1.
    int find_event(const std::string& name, std::size_t from = 0,
                   const std::string& action = {}) const {
        for (std::size_t i = from; i < events.size(); ++i) {
            if (events[i].name == name && (action.empty() || events[i].action == action)) {
                return static_cast<int>(i);
            }
        }
        return -1;
    }

    void open_stream() {
        source->watch(true);
        REQUIRE(run_until([this] { return source->streams_opened() >= 1; }, 10s));
    }

    inventory::DockerSection list() {
        std::optional<inventory::DockerSection> section;
        source->list_containers([&section](inventory::DockerSection s) { section = std::move(s); });
        REQUIRE(run_until([&section] { return section.has_value(); }, 10s));
        return std::move(*section);
    }
};

const inventory::Container* find_container(const inventory::DockerSection& section,
                                           const std::string& name) {
    for (const auto& container : section.containers) {
        if (container.name == name) return &container;
    }
    return nullptr;
}

std::string podman(const std::string& args) {
    return testing::run_output("podman " + args + " 2>&1");
}

}  // namespace

TEST_CASE("docker source: the list sees a running container (twice on one connection)") {
    require_testenv();
    testing::TestContainer web("src-list", "/bin/sleep 100000");
    REQUIRE_MESSAGE(web.ok(), web.setup_output());
    Harness h(testing::test_docker());
    auto section = h.list();
    REQUIRE_MESSAGE(section.status.ok(), *section.status.error);
    CHECK(section.api_version == "1.41");
    const auto* container = find_container(section, web.name());
    REQUIRE(container != nullptr);
    CHECK(container->state == "running");
    auto again = h.list();
    CHECK(again.status.ok());
    CHECK(find_container(again, web.name()) != nullptr);
}

TEST_CASE("docker source: podman kill pushes container_changed naming the container within 1 s") {
    require_testenv();
    std::vector<long long> latencies;
    Harness h(testing::test_docker());
    h.open_stream();
    for (int round = 0; round < 5; ++round) {
        testing::TestContainer web("src-kill", "/bin/sleep 100000");
        REQUIRE_MESSAGE(web.ok(), web.setup_output());
        // Let the create/start events pass first.
        h.run_until([&] { return h.find_event(web.name(), 0, "start") >= 0; }, 5s);
        std::size_t from = h.events.size();
        Clock::time_point kill_returned;
        // The kill runs beside the io_context, as an outside change would.
        std::thread killer([&] {
            podman("kill " + testing::shell_quote(web.name()));
            kill_returned = Clock::now();
        });
        bool seen = h.run_until([&] { return h.find_event(web.name(), from, "die") >= 0; }, 5s);
        killer.join();
        REQUIRE_MESSAGE(seen, "no die event for " << web.name());
        auto at = h.event_times[static_cast<std::size_t>(h.find_event(web.name(), from, "die"))];
        long long after_kill =
            std::chrono::duration_cast<std::chrono::milliseconds>(at - kill_returned).count();
        latencies.push_back(std::max(after_kill, 0LL));
    }
    std::sort(latencies.begin(), latencies.end());
    std::string text;
    for (auto ms : latencies) text += " " + std::to_string(ms);
    std::printf("docker source: die event after podman kill returned (ms, sorted):%s\n",
                text.c_str());
    CHECK(latencies.back() < 1000);
}

TEST_CASE("docker source: an exec in a container gives events the observer does not follow") {
    // What the engine really sends for an exec (a health probe is one): the observer's rule must
    // drop exactly those, and keep the die that follows.
    require_testenv();
    Harness h(testing::test_docker());
    h.open_stream();
    testing::TestContainer web("src-exec", "/bin/sleep 100000");
    REQUIRE_MESSAGE(web.ok(), web.setup_output());
    REQUIRE(h.run_until([&] { return h.find_event(web.name(), 0, "start") >= 0; }, 5s));
    const std::size_t from = h.events.size();
    podman("exec " + testing::shell_quote(web.name()) + " /bin/true");
    podman("kill " + testing::shell_quote(web.name()));
    REQUIRE(h.run_until([&] { return h.find_event(web.name(), from, "die") >= 0; }, 5s));
    const auto die = static_cast<std::size_t>(h.find_event(web.name(), from, "die"));
    std::vector<std::string> exec_actions;
    for (std::size_t i = from; i < die; ++i) {
        if (h.events[i].name != web.name()) continue;
        CAPTURE(h.events[i].action);
        if (h.events[i].action.rfind("exec", 0) == 0) {
            exec_actions.push_back(h.events[i].action);
            CHECK_FALSE(agent::observe::may_change_container_state(h.events[i].action));
        }
    }
    CHECK_FALSE(exec_actions.empty());  // the engine did report the exec
    CHECK(agent::observe::may_change_container_state(h.events[die].action));
}

TEST_CASE("docker source: a compose-labelled container's events carry project and service") {
    require_testenv();
    Harness h(testing::test_docker());
    h.open_stream();
    std::string project = testing::unique_name("srcp");
    testing::TestContainer web("src-compose", "/bin/sleep 100000", true,
                               "--label com.docker.compose.project=" + project +
                                   " --label com.docker.compose.service=web");
    REQUIRE_MESSAGE(web.ok(), web.setup_output());
    REQUIRE(h.run_until([&] { return h.find_event(web.name(), 0, "start") >= 0; }, 5s));
    const auto& event = h.events[static_cast<std::size_t>(h.find_event(web.name(), 0, "start"))];
    CHECK(event.compose_project == project);
    CHECK(event.compose_service == "web");
    CHECK(event.id.size() == 64);
    // The engine's own time, not the time we read it.
    auto age = std::chrono::system_clock::now() - event.at;
    CHECK(age < 30s);
    CHECK(age > -5s);
}

TEST_CASE(
    "docker source: a dropped stream resumes with since= and delivers the gap event and a resync") {
    require_testenv();
    testing::TestContainer web("src-gap", "/bin/sleep 100000");
    REQUIRE_MESSAGE(web.ok(), web.setup_output());
    Harness h(testing::test_docker());
    h.open_stream();
    int resyncs_before = h.resyncs;
    REQUIRE(resyncs_before == 1);  // the first open is a resync too
    std::size_t from = h.events.size();
    std::size_t log_from = h.log.size();

    h.source->drop_events_stream_for_test();
    // The io_context does not run here: this kill happens while no stream is open.
    auto killed = testing::run("podman kill " + testing::shell_quote(web.name()) + " 2>&1");
    REQUIRE_MESSAGE(killed.exit_code == 0, killed.output);

    REQUIRE_MESSAGE(h.run_until(
                        [&] {
                            return h.find_event(web.name(), from, "die") >= 0 &&
                                   h.resyncs > resyncs_before;
                        },
                        10s),
                    "events after the drop: " << h.log.size() - log_from);
    CHECK(h.source->streams_opened() == 2);
    // Both reach the observer; their order depends on when the engine sends its headers (the
    // replayed events may come with them or after them), and either order re-observes the app.
    std::string order;
    for (std::size_t i = log_from; i < h.log.size(); ++i) order += " [" + h.log[i] + "]";
    std::printf("docker source: after the drop:%s\n", order.c_str());
}

TEST_CASE(
    "docker source: a missing socket fails the list quickly and the watch retries until it "
    "appears") {
    require_testenv();
    testing::TempDir dir;
    io::DockerSettings settings = testing::test_docker();
    std::string real_socket = settings.socket_path;
    settings.socket_path = dir.file("docker.sock");
    Harness h(settings);

    auto start = Clock::now();
    auto section = h.list();
    auto took = Clock::now() - start;
    REQUIRE_FALSE(section.status.ok());
    CHECK(section.status.error->find("cannot connect to the Docker socket " +
                                     settings.socket_path) != std::string::npos);
    CHECK(section.status.error->find('\n') == std::string::npos);
    CHECK(took < 1s);

    h.source->watch(true);
    h.run_until([] { return false; }, 1500ms);  // a failed attempt or two
    CHECK(h.source->streams_opened() == 0);
    CHECK(h.resyncs == 0);
    // The engine appears at that path: the retrying watch finds it and resyncs.
    REQUIRE(::symlink(real_socket.c_str(), settings.socket_path.c_str()) == 0);
    CHECK(h.run_until([&] { return h.resyncs >= 1; }, 10s));
    CHECK(h.list().status.ok());

    h.source->stop();
    auto after_stop = h.list();
    CHECK_FALSE(after_stop.status.ok());
}
