// run_restart_command with real child processes: output, exit codes, environment, descriptors,
// timeouts that take the whole process group down, and output caps.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "action-wrapper/restart/process_restart.hpp"
#include "tests/integration/support/testenv.hpp"

namespace {

using monsys::action::ProcessLimits;
using monsys::action::RestartStatus;
using namespace monsys::testing;
using namespace std::chrono_literals;

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
    std::string path = dir.file(name);
    write_file(path, "#!/bin/sh\n" + body, true);
    return path;
}

// Gone, or a zombie nobody reaped yet (it no longer runs anything).
bool process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = content.rfind(')');
    return close != std::string::npos && close + 2 < content.size() && content[close + 2] == 'Z';
}

pid_t read_pid(const std::string& path) {
    pid_t pid = 0;
    std::ifstream(path) >> pid;
    return pid;
}

}  // namespace

TEST_CASE("process: a restart command runs; its exit code and both outputs are reported") {
    TempDir dir;
    auto path = script(dir, "restart.sh", "echo restarted app\necho warning >&2\nexit 3\n");

    auto outcome = monsys::action::run_restart_command(path, ProcessLimits{});

    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.exit_code == 3);
    CHECK(outcome.signal == 0);
    CHECK(outcome.stdout_output.text == "restarted app\n");
    CHECK(outcome.stderr_output.text == "warning\n");
    CHECK_FALSE(outcome.stdout_output.truncated);

    auto ok = monsys::action::run_restart_command(script(dir, "ok.sh", "echo fine\n"), {});
    CHECK(ok.status == RestartStatus::succeeded);
    CHECK(ok.exit_code == 0);
    CHECK(ok.stdout_output.text == "fine\n");
}

TEST_CASE("process: the command gets a clean environment, cwd /, stdin /dev/null, argv {path}") {
    ::setenv("MONSYS_SECRET_FROM_PARENT", "leak", 1);
    TempDir dir;
    auto path = script(dir, "env.sh",
                       "echo \"cwd=$(pwd)\"\necho \"argc=$# arg0=$0\"\n"
                       "echo \"stdin=$(readlink /proc/$$/fd/0)\"\n/usr/bin/env | sort\n");

    auto outcome = monsys::action::run_restart_command(path, ProcessLimits{});

    ::unsetenv("MONSYS_SECRET_FROM_PARENT");
    INFO(outcome.stdout_output.text, outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    const std::string& out = outcome.stdout_output.text;
    CHECK(out.find("cwd=/\n") != std::string::npos);
    CHECK(out.find("argc=0 arg0=" + path + "\n") != std::string::npos);
    CHECK(out.find("stdin=/dev/null\n") != std::string::npos);
    CHECK(out.find("LANG=C\n") != std::string::npos);
    CHECK(out.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n") != std::string::npos);
    CHECK(out.find("MONSYS_SECRET") == std::string::npos);
    CHECK(out.find("HOME=") == std::string::npos);
}

TEST_CASE("process: the command does not inherit the parent's descriptors") {
    // A descriptor deliberately opened without O_CLOEXEC, at a number easy to look for.
    int fd = ::open("/dev/null", O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, 57) == 57);
    ::close(fd);
    TempDir dir;
    auto path = script(dir, "fds.sh", "ls /proc/$$/fd\n");

    auto outcome = monsys::action::run_restart_command(path, ProcessLimits{});

    ::close(57);
    INFO(outcome.stdout_output.text);
    REQUIRE(outcome.status == RestartStatus::succeeded);
    std::set<std::string> fds;
    std::istringstream lines(outcome.stdout_output.text);
    for (std::string line; std::getline(lines, line);) fds.insert(line);
    CHECK(fds.count("57") == 0);
    CHECK(fds.count("0") == 1);
    CHECK(fds.count("1") == 1);
    CHECK(fds.count("2") == 1);
    // Whatever else the shell holds, it opened itself (dash keeps its script at fd 10).
    for (const auto& f : fds) CHECK_MESSAGE((f == "0" || f == "1" || f == "2" || f == "10"), f);
}

TEST_CASE("process: a command that outlives the timeout is killed with its whole process group") {
    TempDir dir;
    const std::string pidfile = dir.file("grandchild.pid");
    auto path =
        script(dir, "hang.sh",
               "/bin/sleep 1000 &\necho $! > " + pidfile + "\necho started\n/bin/sleep 1000\n");
    ProcessLimits limits;
    limits.timeout = 1500ms;
    limits.kill_grace = 2000ms;
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::run_restart_command(path, limits);

    auto elapsed = elapsed_ms(start);
    CHECK(outcome.status == RestartStatus::timeout);
    CHECK(outcome.exit_code == -1);
    CHECK(outcome.signal == SIGTERM);
    CHECK(outcome.stdout_output.text == "started\n");
    CHECK(elapsed >= 1400);
    CHECK(elapsed < 8000);
    pid_t grandchild = read_pid(pidfile);
    REQUIRE(grandchild > 0);
    CHECK(wait_for([grandchild] { return process_gone(grandchild); }, 5s));
}

TEST_CASE("process: a command that ignores SIGTERM is killed with SIGKILL after the grace") {
    TempDir dir;
    const std::string pidfile = dir.file("grandchild.pid");
    auto path =
        script(dir, "stubborn.sh",
               "trap '' TERM\n/bin/sleep 1000 &\necho $! > " + pidfile + "\n/bin/sleep 1000\n");
    ProcessLimits limits;
    limits.timeout = 1000ms;
    limits.kill_grace = 1000ms;
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::run_restart_command(path, limits);

    auto elapsed = elapsed_ms(start);
    CHECK(outcome.status == RestartStatus::timeout);
    CHECK(outcome.signal == SIGKILL);
    CHECK(elapsed >= 1900);
    CHECK(elapsed < 9000);
    pid_t grandchild = read_pid(pidfile);
    REQUIRE(grandchild > 0);
    CHECK(wait_for([grandchild] { return process_gone(grandchild); }, 5s));
}

TEST_CASE(
    "process: output past the cap is truncated with the flag set, and the child never blocks") {
    TempDir dir;
    // 1 MiB on stdout, 100 bytes on stderr: far more than a pipe buffer holds.
    auto path = script(dir, "loud.sh",
                       "/usr/bin/head -c 1048576 /dev/zero | /usr/bin/tr '\\0' x\n"
                       "/usr/bin/head -c 100 /dev/zero | /usr/bin/tr '\\0' y >&2\n");
    ProcessLimits limits;
    limits.timeout = 30s;
    limits.output_cap_bytes = 64 * 1024;
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::run_restart_command(path, limits);

    CHECK(elapsed_ms(start) < 20000);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.stdout_output.truncated);
    CHECK(outcome.stdout_output.text == std::string(64 * 1024, 'x'));
    CHECK_FALSE(outcome.stderr_output.truncated);
    CHECK(outcome.stderr_output.text == std::string(100, 'y'));
    CHECK(outcome.after["stdout_bytes"] == 1048576);
}

TEST_CASE("process: a background daemon holding the pipes does not hold up the result") {
    TempDir dir;
    const std::string pidfile = dir.file("daemon.pid");
    auto path = script(dir, "daemonize.sh",
                       "/bin/sleep 30 &\necho $! > " + pidfile + "\necho launched\nexit 0\n");
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::run_restart_command(path, ProcessLimits{});

    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.stdout_output.text == "launched\n");
    pid_t daemon = read_pid(pidfile);
    REQUIRE(daemon > 0);
    CHECK_FALSE(process_gone(daemon));  // a restart command may start a daemon: it stays
    ::kill(daemon, SIGKILL);
}

TEST_CASE("process: paths that cannot be executed fail clearly, never through a shell") {
    TempDir dir;
    auto missing = monsys::action::run_restart_command(dir.file("missing.sh"), {});
    CHECK(missing.status == RestartStatus::failed);
    CHECK(missing.exit_code == -1);
    CHECK(missing.stderr_output.text ==
          "cannot execute " + dir.file("missing.sh") + ": No such file or directory");

    write_file(dir.file("noexec.sh"), "#!/bin/sh\necho hi\n", false);
    auto noexec = monsys::action::run_restart_command(dir.file("noexec.sh"), {});
    CHECK(noexec.status == RestartStatus::failed);
    CHECK(noexec.stderr_output.text.find("Permission denied") != std::string::npos);

    // No "#!" line: execve refuses (ENOEXEC) and nothing falls back to /bin/sh.
    write_file(dir.file("bare.sh"), "echo should-not-run\n", true);
    auto bare = monsys::action::run_restart_command(dir.file("bare.sh"), {});
    CHECK(bare.status == RestartStatus::failed);
    CHECK(bare.stdout_output.text.empty());
    CHECK(bare.stderr_output.text.find("Exec format error") != std::string::npos);
}
