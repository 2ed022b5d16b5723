// Process restarts for real. run_command_fd with real child processes: output, exit codes,
// environment, descriptors, timeouts that take the whole process group down, output caps. Then
// the whole path against the test's systemd user manager: restart_process_app restarts
// monsys-restart@ENTRY.service, whose run-restart-command runs the policy's command, and judges
// by the result file and by what runs afterwards.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "action-wrapper/restart/process_restart.hpp"
#include "action-wrapper/restart_command/command_runner.hpp"
#include "tests/integration/support/process_restart_env.hpp"
#include "tests/integration/support/testenv.hpp"

namespace {

using monsys::action::CommandEnding;
using monsys::action::CommandLimits;
using monsys::action::CommandResult;
using monsys::action::RestartStatus;
using monsys::io::SystemdBusSettings;
using namespace monsys::testing;
using namespace std::chrono_literals;

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
    std::string path = dir.file(name);
    write_file(path, "#!/bin/sh\n" + body, true);
    return path;
}

// Runs `path` the way run-restart-command does: from a descriptor opened on it.
CommandResult run_path(const std::string& path, const CommandLimits& limits = {}) {
    CommandResult result;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE_MESSAGE(fd >= 0, path);
    monsys::action::run_command_fd(fd, path, limits, result);
    ::close(fd);
    return result;
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

SystemdBusSettings user_bus() {
    SystemdBusSettings settings;
    settings.kind = SystemdBusSettings::Kind::user;
    settings.call_timeout = 10s;
    return settings;
}

monsys::action::ProcessRestartRequest request_for(const ProcessRestartEnv& env,
                                                  const std::string& entry,
                                                  const std::string& command) {
    monsys::action::ProcessRestartRequest request;
    request.entry = entry;
    request.app_path = env.app_path();
    request.command = command;
    request.result_dir = env.results_dir();
    request.timeout = 60s;
    request.settle = 500ms;
    return request;
}

}  // namespace

TEST_CASE("process: a restart command runs, its exit code and both outputs are reported") {
    TempDir dir;
    auto path = script(dir, "restart.sh", "echo restarted app\necho warning >&2\nexit 3\n");

    auto outcome = run_path(path);

    CHECK(outcome.ending == CommandEnding::exited);
    CHECK(outcome.exit_code == 3);
    CHECK(outcome.signal == 0);
    CHECK(outcome.out.text == "restarted app\n");
    CHECK(outcome.err.text == "warning\n");
    CHECK_FALSE(outcome.out.truncated);

    auto ok = run_path(script(dir, "ok.sh", "echo fine\n"));
    CHECK(ok.ending == CommandEnding::exited);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.text == "fine\n");
}

TEST_CASE("process: the command gets a clean environment, cwd /, stdin /dev/null, its own file") {
    ::setenv("MONSYS_SECRET_FROM_PARENT", "leak", 1);
    TempDir dir;
    auto path = script(dir, "env.sh",
                       "echo \"cwd=$(pwd)\"\necho \"argc=$# arg0=$0\"\n"
                       "echo \"stdin=$(readlink /proc/$$/fd/0)\"\n/usr/bin/env | sort\n");

    auto outcome = run_path(path);

    ::unsetenv("MONSYS_SECRET_FROM_PARENT");
    INFO(outcome.out.text, outcome.err.text);
    CHECK(outcome.exit_code == 0);
    const std::string& out = outcome.out.text;
    CHECK(out.find("cwd=/\n") != std::string::npos);
    // The kernel hands a script's interpreter the file that was executed: the opened one.
    CHECK(out.find("argc=0 arg0=/proc/self/fd/3\n") != std::string::npos);
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

    auto outcome = run_path(path);

    ::close(57);
    INFO(outcome.out.text);
    REQUIRE(outcome.exit_code == 0);
    std::set<std::string> fds;
    std::istringstream lines(outcome.out.text);
    for (std::string line; std::getline(lines, line);) fds.insert(line);
    CHECK(fds.count("57") == 0);
    CHECK(fds.count("0") == 1);
    CHECK(fds.count("1") == 1);
    CHECK(fds.count("2") == 1);
    CHECK(fds.count("3") == 1);  // the command's own file, which the interpreter opens again
    // Whatever else the shell holds, it opened itself (dash keeps its script at fd 10).
    for (const auto& f : fds) {
        CHECK_MESSAGE((f == "0" || f == "1" || f == "2" || f == "3" || f == "10"), f);
    }
}

TEST_CASE("process: a command that outlives the timeout is killed with its whole process group") {
    TempDir dir;
    const std::string pidfile = dir.file("grandchild.pid");
    auto path =
        script(dir, "hang.sh",
               "/bin/sleep 1000 &\necho $! > " + pidfile + "\necho started\n/bin/sleep 1000\n");
    CommandLimits limits;
    limits.timeout = 1500ms;
    limits.kill_grace = 2000ms;
    auto start = std::chrono::steady_clock::now();

    auto outcome = run_path(path, limits);

    auto elapsed = elapsed_ms(start);
    CHECK(outcome.ending == CommandEnding::timed_out);
    CHECK(outcome.exit_code == -1);
    CHECK(outcome.signal == SIGTERM);
    CHECK(outcome.out.text == "started\n");
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
    CommandLimits limits;
    limits.timeout = 1000ms;
    limits.kill_grace = 1000ms;
    auto start = std::chrono::steady_clock::now();

    auto outcome = run_path(path, limits);

    auto elapsed = elapsed_ms(start);
    CHECK(outcome.ending == CommandEnding::timed_out);
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
    CommandLimits limits;
    limits.timeout = 30s;
    limits.output_cap_bytes = 64 * 1024;
    auto start = std::chrono::steady_clock::now();

    auto outcome = run_path(path, limits);

    CHECK(elapsed_ms(start) < 20000);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out.truncated);
    CHECK(outcome.out.text == std::string(64 * 1024, 'x'));
    CHECK_FALSE(outcome.err.truncated);
    CHECK(outcome.err.text == std::string(100, 'y'));
    CHECK(outcome.out.total_bytes == 1048576);
}

TEST_CASE("process: a background daemon holding the pipes does not hold up the result") {
    TempDir dir;
    const std::string pidfile = dir.file("daemon.pid");
    auto path = script(dir, "daemonize.sh",
                       "/bin/sleep 30 &\necho $! > " + pidfile + "\necho launched\nexit 0\n");
    auto start = std::chrono::steady_clock::now();

    auto outcome = run_path(path);

    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.out.text == "launched\n");
    pid_t daemon = read_pid(pidfile);
    REQUIRE(daemon > 0);
    CHECK_FALSE(process_gone(daemon));  // a restart command may start a daemon: it stays
    ::kill(daemon, SIGKILL);
}

TEST_CASE("process: files that cannot be executed fail clearly, never through a shell") {
    TempDir dir;
    write_file(dir.file("noexec.sh"), "#!/bin/sh\necho hi\n", false);
    auto noexec = run_path(dir.file("noexec.sh"));
    CHECK(noexec.ending == CommandEnding::not_run);
    CHECK(noexec.exit_code == -1);
    CHECK(noexec.error == "cannot execute " + dir.file("noexec.sh") + ": Permission denied");

    // No "#!" line: execve refuses (ENOEXEC) and nothing falls back to /bin/sh.
    write_file(dir.file("bare.sh"), "echo should-not-run\n", true);
    auto bare = run_path(dir.file("bare.sh"));
    CHECK(bare.ending == CommandEnding::not_run);
    CHECK(bare.out.text.empty());
    CHECK(bare.error.find("Exec format error") != std::string::npos);
}

TEST_CASE("process: what runs is the opened file, even when its path is replaced meanwhile") {
    TempDir dir;
    auto path = script(dir, "restart.sh", "echo original\n");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    ::unlink(path.c_str());
    script(dir, "restart.sh", "echo replaced\n");

    CommandResult result;
    monsys::action::run_command_fd(fd, path, {}, result);
    ::close(fd);
    CHECK(result.out.text == "original\n");
}

TEST_CASE("process restart: through monsys-restart@ENTRY.service the app runs anew, in the unit") {
    ProcessRestartEnv env;
    const std::string entry = env.entry("restart");
    const std::string command = env.restart_command();
    env.write_policy({{entry, env.entry_json(command)}});
    const int old_pid = env.start_app();

    auto outcome =
        monsys::action::restart_process_app(user_bus(), request_for(env, entry, command));

    INFO(outcome.message, " / ", outcome.stderr_output.text, " / ", outcome.after.dump());
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.exit_code == 0);
    const int new_pid = env.pid_from_file();
    CHECK(new_pid != old_pid);
    CHECK(outcome.message == "restart command " + command + " exited 0; " + env.app_path() +
                                 " runs as pid " + std::to_string(new_pid) + " (before: pid " +
                                 std::to_string(old_pid) + ")");
    CHECK(outcome.stdout_output.text ==
          "restarted: " + std::to_string(old_pid) + " -> " + std::to_string(new_pid) + "\n");
    CHECK(outcome.before["app"]["processes"][0]["pid"] == old_pid);
    CHECK(outcome.after["app"]["processes"][0]["pid"] == new_pid);
    CHECK(outcome.after["user"] == "root");
    // The new app lives in the unit's cgroup, which stays (RemainAfterExit=yes).
    CHECK(ProcessRestartEnv::cgroup_of(new_pid).find(ProcessRestartEnv::unit(entry)) !=
          std::string::npos);
    CHECK(run_output("systemctl --user show -p ActiveState --value " +
                     ProcessRestartEnv::unit(entry)) == "active");
    CHECK(env.read_result(entry)["ending"] == "exited");

    // A second restart stops the unit first (KillMode=process leaves the app to the command)
    // and gives yet another pid.
    auto again = monsys::action::restart_process_app(user_bus(), request_for(env, entry, command));
    INFO(again.message);
    CHECK(again.status == RestartStatus::succeeded);
    CHECK(env.pid_from_file() != new_pid);
    CHECK(env.runs_app(env.pid_from_file()));
    CHECK(env.app_pids() == std::vector<int>{env.pid_from_file()});
}

TEST_CASE("process restart: exit 0 without the app running again is a failure with the reason") {
    ProcessRestartEnv env;
    const std::string stop_only = env.entry("stop");
    const std::string stop_command =
        env.command("stop.sh", "kill $(cat " + env.pid_file() + ")\necho stopped\n");
    const std::string nothing = env.entry("nothing");
    const std::string nothing_command = env.command("nothing.sh", "exit 0\n");
    env.write_policy(
        {{stop_only, env.entry_json(stop_command)}, {nothing, env.entry_json(nothing_command)}});

    const int old_pid = env.start_app();
    auto same =
        monsys::action::restart_process_app(user_bus(), request_for(env, nothing, nothing_command));
    CHECK(same.status == RestartStatus::failed);
    CHECK(same.message == "restart command " + nothing_command + " exited 0, but " +
                              env.app_path() + " still runs only as the old pid " +
                              std::to_string(old_pid));

    auto stopped =
        monsys::action::restart_process_app(user_bus(), request_for(env, stop_only, stop_command));
    CHECK(stopped.status == RestartStatus::failed);
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.stdout_output.text == "stopped\n");
    CHECK(stopped.message == "restart command " + stop_command + " exited 0, but " +
                                 env.app_path() + " is not running 500 ms later");
}

TEST_CASE("process restart: a failing command fails, with its status and output as evidence") {
    ProcessRestartEnv env;
    const std::string entry = env.entry("fail");
    const std::string command = env.command("fail.sh", "echo cannot >&2\nexit 3\n");
    env.write_policy({{entry, env.entry_json(command)}});

    auto outcome =
        monsys::action::restart_process_app(user_bus(), request_for(env, entry, command));
    INFO(outcome.message, " / ", env.read_result(entry).dump());
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.exit_code == 3);
    CHECK(outcome.stderr_output.text == "cannot\n");
    CHECK(outcome.message == "restart command " + command + " exited 3");
    CHECK(run_output("systemctl --user show -p ActiveState --value " +
                     ProcessRestartEnv::unit(entry)) == "failed");
}

TEST_CASE("process restart: an entry missing from the unit's policy runs nothing") {
    ProcessRestartEnv env;
    const std::string entry = env.entry("absent");
    const std::string marker = env.file("ran");
    const std::string command = env.command("touch.sh", "touch " + marker + "\n");
    env.write_policy(nlohmann::json::object());  // the wrapper's view and the unit's disagree

    auto outcome =
        monsys::action::restart_process_app(user_bus(), request_for(env, entry, command));
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.message == "the restart command was not run: no entry '" + entry +
                                 "' in restart_commands of " + env.policy_path());
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("process restart: the wrapper gives up after its timeout, the command goes on") {
    ProcessRestartEnv env;
    const std::string entry = env.entry("slow");
    const std::string command = env.command("slow.sh", "/bin/sleep 5\n");
    env.write_policy({{entry, env.entry_json(command)}});
    auto request = request_for(env, entry, command);
    request.timeout = 1000ms;
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_process_app(user_bus(), request);

    CHECK(elapsed_ms(start) < 4000);
    CHECK(outcome.status == RestartStatus::timeout);
    CHECK(outcome.message == ProcessRestartEnv::unit(entry) +
                                 " did not finish within 1 s (the restart command may still run)");
}

TEST_CASE("process restart: run-restart-command refuses a symlinked or group-writable command") {
    ProcessRestartEnv env;
    const std::string marker = env.file("ran");
    const std::string real = env.command("real.sh", "touch " + marker + "\n");
    const std::string link = env.file("link.sh");
    std::filesystem::create_symlink(real, link);
    const std::string writable = env.command("writable.sh", "touch " + marker + "\n");
    ::chmod(writable.c_str(), 0775);
    env.write_policy({{"linked", env.entry_json(link)}, {"writable", env.entry_json(writable)}});

    for (const std::string entry : {"linked", "writable"}) {
        CAPTURE(entry);
        RunResult ran = run(std::string(MONSYS_ACTION_BINARY) + " --policy " + env.policy_path() +
                            " run-restart-command --result-dir " + env.results_dir() + " " + entry);
        INFO(ran.output);
        CHECK(ran.exit_code == 4);
        auto result = env.read_result(entry);
        CHECK(result["ending"] == "not_run");
        CHECK(result["error"].get<std::string>().rfind("restart command refused: ", 0) == 0);
        CHECK(ran.output.find("entry " + entry + ": not run: restart command refused") !=
              std::string::npos);
    }
    CHECK(env.read_result("linked")["error"].get<std::string>().find("link") != std::string::npos);
    CHECK(env.read_result("writable")["error"].get<std::string>().find("writable") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));

    // A bad entry name writes nothing anywhere.
    RunResult bad = run(std::string(MONSYS_ACTION_BINARY) + " --policy " + env.policy_path() +
                        " run-restart-command --result-dir " + env.results_dir() + " ../x");
    CHECK(bad.exit_code == 2);
    CHECK(bad.output.find("not a valid entry name") != std::string::npos);
}

TEST_CASE("process restart: as root, run-restart-command runs the command as the entry's user") {
    REQUIRE(::geteuid() == 0);
    ProcessRestartEnv env;
    const std::string command = env.command("whoami.sh", "id -u; id -g; id -G\n");
    env.write_policy({{"asnobody", env.entry_json(command, "nobody")}});

    RunResult ran = run(std::string(MONSYS_ACTION_BINARY) + " --policy " + env.policy_path() +
                        " run-restart-command --result-dir " + env.results_dir() + " asnobody");
    INFO(ran.output);
    CHECK(ran.exit_code == 0);
    auto result = env.read_result("asnobody");
    const std::string uid = run_output("id -u nobody");
    const std::string gid = run_output("id -g nobody");
    CHECK(result["user"] == "nobody");
    CHECK(result["stdout"]["text"] == uid + "\n" + gid + "\n" + run_output("id -G nobody") + "\n");
    // The result file stays root's, readable by the directory's group.
    struct stat st {};
    REQUIRE(::stat((env.results_dir() + "/asnobody.json").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK((st.st_mode & 07777) == 0640);
}

TEST_CASE("process restart: not as root, only entries of the user itself run") {
    ProcessRestartEnv env;
    const std::string marker = env.file("ran");
    const std::string command = env.command("touch.sh", "touch " + marker + "\n");
    env.write_policy({{"asroot", env.entry_json(command, "root")}});
    // A result directory of nobody's, for a run-restart-command as nobody.
    const std::string results = env.file("nobody-results");
    std::filesystem::create_directory(results);
    REQUIRE(run("chown nobody " + results + " && chmod 0755 " + results).exit_code == 0);

    RunResult ran = run("setpriv --reuid=nobody --regid=nogroup --clear-groups " +
                        std::string(MONSYS_ACTION_BINARY) + " --policy " + env.policy_path() +
                        " run-restart-command --result-dir " + results + " asroot");
    INFO(ran.output);
    CHECK(ran.exit_code == 4);
    CHECK(ran.output.find("not as root: cannot run a command as user 'root' (uid 0)") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("process restart: a daemon that keeps the output pipes does not hold up the result") {
    ProcessRestartEnv env;
    const std::string entry = env.entry("holder");
    // The app keeps stdout and stderr (the pipes to run-restart-command) open.
    const std::string command = env.command("holder.sh", env.app_path() + " 100000 &\necho $! > " +
                                                             env.pid_file() + "\necho started\n");
    env.write_policy({{entry, env.entry_json(command)}});
    auto start = std::chrono::steady_clock::now();

    auto outcome =
        monsys::action::restart_process_app(user_bus(), request_for(env, entry, command));

    INFO(outcome.message);
    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.stdout_output.text == "started\n");
    CHECK(env.runs_app(env.pid_from_file()));
}
