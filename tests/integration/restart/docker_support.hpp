#pragma once
// Container setup shared by the Docker and compose restart tests (podman CLI, setup only).
#include <string>
#include <vector>

#include "common/io/docker/docker_settings.hpp"
#include "tests/integration/support/testenv.hpp"

namespace monsys::testing {

// A shell command for a container that stops promptly on SIGTERM (sh as PID 1 would otherwise
// ignore it and every restart would wait for the stop timeout).
inline const char* kPromptStopCommand = "trap 'exit 0' TERM; sleep 100000 & wait";

// "sh -c '<script>'" as container command words.
inline std::string sh_c(const std::string& script) {
    return "sh -c " + shell_quote(script);
}

inline io::DockerSettings test_docker() {
    io::DockerSettings settings;
    settings.socket_path = TestEnv::get().docker_socket();
    settings.timeout = std::chrono::seconds(30);
    return settings;
}

// A container created (and optionally started) with podman; removed on destruction.
class TestContainer {
  public:
    // `extra` goes before the image (labels...); `command_args` after it, as shell words (see
    // sh_c()).
    TestContainer(const std::string& prefix, const std::string& command_args, bool start = true,
                  const std::string& extra = {})
        : name_(unique_name(prefix)) {
        std::string cli = std::string(start ? "podman run -d" : "podman create") +
                          " --network none --name " + shell_quote(name_) + " " + extra + " " +
                          shell_quote(TestEnv::get().image()) + " " + command_args;
        created_ = run(cli);
    }
    ~TestContainer() { run("podman rm -f -t 0 " + shell_quote(name_)); }
    TestContainer(const TestContainer&) = delete;
    TestContainer& operator=(const TestContainer&) = delete;

    bool ok() const { return created_.exit_code == 0; }
    const std::string& setup_output() const { return created_.output; }
    const std::string& name() const { return name_; }
    std::string inspect(const std::string& format) const {
        return run_output("podman inspect -f " + shell_quote(format) + " " + shell_quote(name_));
    }
    std::string started_at() const { return inspect("{{.State.StartedAt}}"); }

  private:
    std::string name_;
    RunResult created_;
};

}  // namespace monsys::testing
