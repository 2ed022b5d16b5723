#include <doctest/doctest.h>

#include <signal.h>

#include "action-wrapper/restart/process_restart.hpp"

using namespace monsys::action;
using monsys::io::process::ChildEnding;
using monsys::io::process::ChildResult;

namespace {

ChildResult ended(ChildEnding ending, int code, int sig) {
    ChildResult r;
    r.ending = ending;
    r.exit_code = code;
    r.signal = sig;
    r.out = {"out", true, 100000};
    r.err = {"err", false, 3};
    return r;
}

}  // namespace

TEST_CASE("process: exit status 0 succeeds, anything else fails, with the outputs kept") {
    auto ok = outcome_from_child(ended(ChildEnding::exited, 0, 0), {});
    CHECK(ok.status == RestartStatus::succeeded);
    CHECK(ok.exit_code == 0);
    CHECK(ok.stdout_output.text == "out");
    CHECK(ok.stdout_output.truncated);
    CHECK(ok.stderr_output.text == "err");
    CHECK_FALSE(ok.stderr_output.truncated);
    CHECK(ok.after["stdout_bytes"] == 100000);

    auto bad = outcome_from_child(ended(ChildEnding::exited, 3, 0), {});
    CHECK(bad.status == RestartStatus::failed);
    CHECK(bad.exit_code == 3);
    CHECK(bad.signal == 0);
}

TEST_CASE("process: killed by a signal is a failure with exit code -1 and the signal") {
    auto killed = outcome_from_child(ended(ChildEnding::signaled, -1, SIGSEGV), {});
    CHECK(killed.status == RestartStatus::failed);
    CHECK(killed.exit_code == -1);
    CHECK(killed.signal == SIGSEGV);
    CHECK(killed.after["signal_name"] == "SIGSEGV");
}

TEST_CASE("process: a timeout is status timeout whatever the exit") {
    ProcessLimits limits;
    limits.timeout = std::chrono::milliseconds(1500);
    auto late = outcome_from_child(ended(ChildEnding::timed_out, -1, SIGKILL), limits);
    CHECK(late.status == RestartStatus::timeout);
    CHECK(late.signal == SIGKILL);
    CHECK(late.after["timeout_ms"] == 1500);
    auto late_but_clean = outcome_from_child(ended(ChildEnding::timed_out, 0, 0), limits);
    CHECK(late_but_clean.status == RestartStatus::timeout);
}

TEST_CASE("process: the environment is fixed and minimal") {
    CHECK(restart_command_environment() ==
          std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"});
}
