// restart_docker_container against podman's Docker-compatible API (scripts/testenv), and against
// sockets that are missing, silent or hostile.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "action-wrapper/restart/docker_restart.hpp"
#include "tests/integration/restart/docker_support.hpp"

namespace {

using monsys::action::RestartStatus;
using namespace monsys::testing;
using namespace std::chrono_literals;

// A listening Unix socket in a temporary directory. With `accept_connections`, a thread accepts
// and holds every connection and, if `reply` is set, writes it to each; otherwise connections
// wait in the backlog. Nothing it sends is a complete HTTP response unless asked to.
class FakeEngine {
  public:
    explicit FakeEngine(bool accept_connections, std::string reply = {})
        : path_(dir_.file("docker.sock")), reply_(std::move(reply)) {
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        path_.copy(address.sun_path, sizeof(address.sun_path) - 1);
        ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        ::listen(listener_, 16);
        if (accept_connections) thread_ = std::thread(&FakeEngine::serve, this);
    }
    ~FakeEngine() {
        stop_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        if (thread_.joinable()) thread_.join();
        for (int fd : held_) ::close(fd);
        ::close(listener_);
    }
    const std::string& path() const { return path_; }

  private:
    void serve() {
        while (!stop_) {
            int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            // Never blocks and never raises SIGPIPE: what does not fit the socket buffer is
            // dropped.
            if (!reply_.empty())
                ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            held_.push_back(fd);
        }
    }

    TempDir dir_;
    std::string path_;
    std::string reply_;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::vector<int> held_;
};

monsys::io::DockerSettings fake_docker(const std::string& path) {
    monsys::io::DockerSettings settings;
    settings.socket_path = path;
    settings.timeout = 1500ms;
    return settings;
}

}  // namespace

TEST_CASE("docker: restarting a running container gives it a new StartedAt") {
    REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
    TestContainer container("web", sh_c(kPromptStopCommand));
    REQUIRE_MESSAGE(container.ok(), container.setup_output());
    const std::string started_before = container.started_at();
    const std::string pid_before = container.inspect("{{.State.Pid}}");

    auto outcome = monsys::action::restart_docker_container(test_docker(), container.name(), 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.exit_code == 0);
    const std::string started_after = container.started_at();
    CHECK(started_after != started_before);
    CHECK(container.inspect("{{.State.Status}}") == "running");
    CHECK(container.inspect("{{.State.Pid}}") != pid_before);
    CHECK(outcome.before["Status"] == "running");
    CHECK(outcome.after["Status"] == "running");
    CHECK(outcome.after["Running"] == true);
    CHECK(outcome.before["StartedAt"] != outcome.after["StartedAt"]);
    CHECK(outcome.after["Pid"].get<long long>() > 0);
    CHECK(outcome.stdout_output.text.rfind(container.name() + " restarted: StartedAt ", 0) == 0);
}

TEST_CASE("docker: a container that does not exist fails clearly") {
    REQUIRE(TestEnv::get().ready());
    const std::string name = unique_name("absent");
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_docker_container(test_docker(), name, 30s);

    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.rfind("no such container " + name + ": HTTP 404", 0) == 0);
}

TEST_CASE("docker: a stopped container whose command cannot start fails with the engine's reason") {
    REQUIRE(TestEnv::get().ready());
    TestContainer container("nocmd", "/bin/nonexistent", false);
    REQUIRE_MESSAGE(container.ok(), container.setup_output());

    auto outcome = monsys::action::restart_docker_container(test_docker(), container.name(), 60s);

    INFO(outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("refused: HTTP 500") != std::string::npos);
    CHECK(outcome.stderr_output.text.find("/bin/nonexistent") != std::string::npos);
    CHECK(container.inspect("{{.State.Running}}") == "false");
}

TEST_CASE("docker: a container whose command exits right after the restart is reported failed") {
    REQUIRE(TestEnv::get().ready());
    TestContainer container("quick", sh_c("exit 3"), false);
    REQUIRE_MESSAGE(container.ok(), container.setup_output());

    auto outcome = monsys::action::restart_docker_container(test_docker(), container.name(), 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("exited right after the restart") != std::string::npos);
    CHECK(outcome.stderr_output.text.find("exit code 3") != std::string::npos);
    CHECK(outcome.after["Running"] == false);
}

TEST_CASE("docker: a missing socket fails at once") {
    TempDir dir;
    auto start = std::chrono::steady_clock::now();

    auto outcome =
        monsys::action::restart_docker_container(fake_docker(dir.file("none.sock")), "web", 30s);

    CHECK(elapsed_ms(start) < 2000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("cannot connect to the Docker socket") !=
          std::string::npos);
}

TEST_CASE("docker: a socket that accepts and never answers fails within the step timeout") {
    FakeEngine silent(true);
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_docker_container(fake_docker(silent.path()), "web", 30s);

    auto elapsed = elapsed_ms(start);
    CHECK(elapsed >= 1400);
    CHECK(elapsed < 6000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("no progress within 1500 ms") != std::string::npos);
}

TEST_CASE("docker: a socket that never accepts the connection fails within the step timeout") {
    FakeEngine backlog(false);
    auto start = std::chrono::steady_clock::now();

    auto outcome =
        monsys::action::restart_docker_container(fake_docker(backlog.path()), "web", 30s);

    CHECK(elapsed_ms(start) < 6000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("no progress") != std::string::npos);
}

TEST_CASE("docker: an endless response header is cut off at the header cap") {
    FakeEngine hostile(true, "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(200 * 1024, 'a'));
    auto start = std::chrono::steady_clock::now();

    auto outcome =
        monsys::action::restart_docker_container(fake_docker(hostile.path()), "web", 30s);

    CHECK(elapsed_ms(start) < 6000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("size limit") != std::string::npos);
}
