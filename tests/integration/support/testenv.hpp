#pragma once
// Access to the private test environment that scripts/testenv/start.sh brings up (a systemd
// user manager and podman's Docker API): reads its KEY=VALUE file, exports the variables into
// this process, and offers small helpers for test setup. Setup may use shells and CLIs
// (systemctl --user, podman, docker); the code under test must not.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace monsys::testing {

class TestEnv {
  public:
    // The environment of MONSYS_TESTENV_FILE, loaded and exported on first use. If the file is
    // missing, every value is empty and ready() is false (tests then fail with a clear message).
    static const TestEnv& get();

    // Loads `path` and setenv()s every variable (overwriting).
    static TestEnv load(const std::string& path);

    bool ready() const { return !values_.empty(); }
    const std::string& path() const { return path_; }
    // The value of `key`, or "" if the file does not define it.
    std::string value(const std::string& key) const;
    const std::map<std::string, std::string>& values() const { return values_; }

    std::string docker_socket() const { return value("MONSYS_TEST_DOCKER_SOCKET"); }
    std::string image() const { return value("MONSYS_TEST_IMAGE"); }
    std::string user_unit_dir() const { return value("MONSYS_TEST_USER_UNIT_DIR"); }

  private:
    std::string path_;
    std::map<std::string, std::string> values_;
};

struct RunResult {
    int exit_code = -1;  // -1 if it could not run or was killed
    std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh -c (setup and checks only), capturing its output.
RunResult run(const std::string& command);

// Like run(), but returns the output with trailing newlines removed.
std::string run_output(const std::string& command);

// Single-quotes `text` for /bin/sh.
std::string shell_quote(std::string_view text);

// A name unique to this process and call, e.g. "monsys-web-4242-3", valid as a container name,
// a unit name prefix and a compose project ([a-z0-9-]).
std::string unique_name(std::string_view prefix);

// Polls `condition` every `interval` until it holds or `timeout` passes; true if it held.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
              std::chrono::milliseconds interval = std::chrono::milliseconds{50});

// Writes `content` to `path` (whole file), optionally executable. False on failure.
bool write_file(const std::string& path, std::string_view content, bool executable = false);

// A fresh directory under /tmp, removed with its contents when the object goes away.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  private:
    std::string path_;
};

// Milliseconds elapsed since `start`.
long long elapsed_ms(std::chrono::steady_clock::time_point start);

}  // namespace monsys::testing
