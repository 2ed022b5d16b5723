// The success rule of a process restart: the command exited 0 AND the app's path runs again
// under a pid that did not run it before, after the settle time. Pure: made-up results and scans.
#include <doctest/doctest.h>

#include <signal.h>

#include "action-wrapper/restart/process_restart.hpp"

using namespace monsys::action;
using monsys::inventory::PathRuns;
using monsys::inventory::ProcessIdentity;
using monsys::inventory::RunningProcess;
using std::chrono::milliseconds;

namespace {

const std::string app_path = "/opt/x/run";

CommandResult exited(int code) {
    CommandResult result;
    result.entry = "x";
    result.command = "/opt/x/restart";
    result.user = "root";
    result.ending = CommandEnding::exited;
    result.exit_code = code;
    return result;
}

PathRuns runs(std::initializer_list<RunningProcess> processes) {
    PathRuns out;
    out.processes = processes;
    return out;
}

RunningProcess proc(int pid, std::uint64_t start, ProcessIdentity identity = ProcessIdentity::exe) {
    return RunningProcess{pid, start, identity};
}

ProcessVerdict judge(const CommandResult& result, const PathRuns& before,
                     const std::optional<PathRuns>& after, bool job_done = true) {
    return judge_process_restart(result, job_done, before, after, app_path, milliseconds(2000));
}

}  // namespace

TEST_CASE("process restart: exit 0 and a new pid is success") {
    auto verdict = judge(exited(0), runs({proc(1234, 10)}), runs({proc(5678, 99)}));
    CHECK(verdict.status == RestartStatus::succeeded);
    CHECK(
        verdict.message ==
        "restart command /opt/x/restart exited 0; /opt/x/run runs as pid 5678 (before: pid 1234)");

    auto started = judge(exited(0), runs({}), runs({proc(77, 5)}));
    CHECK(started.status == RestartStatus::succeeded);
    CHECK(started.message.find("runs as pid 77 (before: not running)") != std::string::npos);
}

TEST_CASE("process restart: a reused pid started anew counts as new") {
    auto verdict = judge(exited(0), runs({proc(1234, 10)}), runs({proc(1234, 500)}));
    CHECK(verdict.status == RestartStatus::succeeded);
}

TEST_CASE("process restart: a pid found by its command line is said to be") {
    auto verdict = judge(exited(0), runs({}), runs({proc(9, 5, ProcessIdentity::cmdline)}));
    CHECK(verdict.status == RestartStatus::succeeded);
    CHECK(verdict.message.find("pid 9" + monsys::inventory::identity_note(
                                             ProcessIdentity::cmdline)) != std::string::npos);
}

TEST_CASE("process restart: exit 0 with the app not running is a failure with the reason") {
    auto verdict = judge(exited(0), runs({proc(1234, 10)}), runs({}));
    CHECK(verdict.status == RestartStatus::failed);
    CHECK(verdict.message ==
          "restart command /opt/x/restart exited 0, but /opt/x/run is not running 2 s later");

    PathRuns hidden;
    hidden.unidentified = 3;
    auto unsure = judge(exited(0), runs({}), hidden);
    CHECK(unsure.status == RestartStatus::failed);
    CHECK(unsure.message.find("3 processes of other users could not be identified") !=
          std::string::npos);
}

TEST_CASE("process restart: exit 0 with only the old pid is a failure naming it") {
    auto verdict = judge(exited(0), runs({proc(1234, 10)}), runs({proc(1234, 10)}));
    CHECK(verdict.status == RestartStatus::failed);
    CHECK(verdict.message ==
          "restart command /opt/x/restart exited 0, but /opt/x/run still runs only as the old "
          "pid 1234");
    auto two = judge(exited(0), runs({proc(1, 1), proc(2, 2)}), runs({proc(1, 1), proc(2, 2)}));
    CHECK(two.message.find("old pids 1, 2") != std::string::npos);
}

TEST_CASE("process restart: a failed command fails whatever runs") {
    auto verdict = judge(exited(3), runs({}), std::nullopt, false);
    CHECK(verdict.status == RestartStatus::failed);
    CHECK(verdict.message == "restart command /opt/x/restart exited 3");

    CommandResult killed = exited(-1);
    killed.ending = CommandEnding::signaled;
    killed.signal = SIGKILL;
    auto by_signal = judge(killed, runs({}), std::nullopt, false);
    CHECK(by_signal.status == RestartStatus::failed);
    CHECK(by_signal.message == "restart command /opt/x/restart was killed by signal 9 (SIGKILL)");

    CommandResult late = exited(-1);
    late.ending = CommandEnding::timed_out;
    late.signal = SIGTERM;
    CHECK(judge(late, runs({}), std::nullopt, false).status == RestartStatus::timeout);

    CommandResult refused;
    refused.entry = "x";
    refused.ending = CommandEnding::not_run;
    refused.error = "restart command refused: /opt/x/restart is writable by group or others";
    auto not_run = judge(refused, runs({}), std::nullopt, false);
    CHECK(not_run.status == RestartStatus::failed);
    CHECK(not_run.message == "the restart command was not run: " + refused.error);
}

TEST_CASE("process restart: unknown before or after is never a success") {
    PathRuns unreadable;
    unreadable.error = "hidepid=2 hides other users' processes";
    auto before = judge(exited(0), unreadable, runs({proc(5, 5)}));
    CHECK(before.status == RestartStatus::failed);
    CHECK(before.message.find("the processes before the restart are unknown: hidepid") !=
          std::string::npos);
    auto after = judge(exited(0), runs({}), unreadable);
    CHECK(after.status == RestartStatus::failed);
    CHECK(after.message.find("whether /opt/x/run runs is unknown") != std::string::npos);
    auto not_looked = judge(exited(0), runs({}), std::nullopt);
    CHECK(not_looked.status == RestartStatus::failed);
    auto job_failed = judge(exited(0), runs({}), runs({proc(5, 5)}), false);
    CHECK(job_failed.status == RestartStatus::failed);
    CHECK(job_failed.message.find("restart job did not succeed") != std::string::npos);
}

TEST_CASE("process restart: a result file from another run or entry is not this restart's") {
    CommandResult result = exited(0);
    result.started_at_ms = 1000;
    CHECK(check_result_is_current(result, "x", 1000));
    CHECK(check_result_is_current(result, "x", 900));
    auto old = check_result_is_current(result, "x", 1500);
    REQUIRE_FALSE(old);
    CHECK(old.error() ==
          "the result file is from an earlier run (started 500 ms before this restart was asked "
          "for)");
    auto other = check_result_is_current(result, "y", 900);
    REQUIRE_FALSE(other);
    CHECK(other.error() == "the result file names entry 'x', not 'y'");
}

TEST_CASE("process restart: the unit and the durations as the operator reads them") {
    CHECK(restart_unit_name("accapp") == "monsys-restart@accapp.service");
    CHECK(describe_duration(milliseconds(2000)) == "2 s");
    CHECK(describe_duration(milliseconds(1500)) == "1500 ms");
    CHECK(describe_duration(milliseconds(0)) == "0 s");
}
