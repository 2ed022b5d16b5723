// The result file of run-restart-command, how a child's end maps into it, and who it runs as.
#include <doctest/doctest.h>

#include <signal.h>

#include "action-wrapper/restart_command/command_result.hpp"
#include "action-wrapper/restart_command/command_runner.hpp"
#include "action-wrapper/restart_command/user_switch.hpp"

using namespace monsys::action;
using monsys::io::process::ChildEnding;
using monsys::io::process::ChildResult;

namespace {

CommandResult sample() {
    CommandResult result;
    result.entry = "accapp";
    result.command = "/opt/accapp/restart";
    result.user = "root";
    result.started_at_ms = 1764300000123;
    result.ending = CommandEnding::exited;
    result.exit_code = 0;
    result.out = {"restarted\n", false, 10};
    result.err = {std::string(100, 'e'), true, 100000};
    result.elapsed_ms = 42;
    return result;
}

ChildResult child(ChildEnding ending, int code, int sig) {
    ChildResult r;
    r.ending = ending;
    r.exit_code = code;
    r.signal = sig;
    r.out = {"out", true, 100000};
    r.err = {"err", false, 3};
    r.elapsed = std::chrono::milliseconds(7);
    return r;
}

}  // namespace

TEST_CASE("result file: what is written is read back the same") {
    CommandResult written = sample();
    auto read = parse_command_result(to_json(written).dump());
    REQUIRE(read);
    CHECK(read->entry == "accapp");
    CHECK(read->command == "/opt/accapp/restart");
    CHECK(read->user == "root");
    CHECK(read->started_at_ms == 1764300000123);
    CHECK(read->ending == CommandEnding::exited);
    CHECK(read->exit_code == 0);
    CHECK(read->out.text == "restarted\n");
    CHECK(read->err.truncated);
    CHECK(read->err.total_bytes == 100000);
    CHECK(read->elapsed_ms == 42);
    CHECK(read->error.empty());

    CommandResult refused = sample();
    refused.ending = CommandEnding::not_run;
    refused.exit_code = -1;
    refused.error = "no entry 'accapp'";
    auto again = parse_command_result(to_json(refused).dump());
    REQUIRE(again);
    CHECK(again->ending == CommandEnding::not_run);
    CHECK(again->error == "no entry 'accapp'");

    CommandResult killed = sample();
    killed.ending = CommandEnding::signaled;
    killed.signal = SIGKILL;
    CHECK(to_json(killed)["signal_name"] == "SIGKILL");
}

TEST_CASE("result file: a broken or partial file is an error, never a result") {
    CHECK_FALSE(parse_command_result(""));
    CHECK_FALSE(parse_command_result("[]"));
    CHECK_FALSE(parse_command_result("{\"entry\": \"a\"}"));
    auto json = to_json(sample());
    json["ending"] = "finished";
    CHECK(parse_command_result(json.dump()).error() == "unknown ending 'finished'");
    json = to_json(sample());
    json["exit_code"] = "0";
    CHECK_FALSE(parse_command_result(json.dump()));
    json = to_json(sample());
    json["error"] = 5;
    CHECK_FALSE(parse_command_result(json.dump()));
    std::string text = to_json(sample()).dump();
    CHECK_FALSE(parse_command_result(text.substr(0, text.size() / 2)));
}

TEST_CASE("result file: the exit status follows the command as a shell reports it") {
    CommandResult result = sample();
    result.exit_code = 3;
    CHECK(exit_status_of(result, 4) == 3);
    result.ending = CommandEnding::signaled;
    result.signal = SIGTERM;
    CHECK(exit_status_of(result, 4) == 128 + SIGTERM);
    result.ending = CommandEnding::timed_out;
    CHECK(exit_status_of(result, 4) == 124);
    result.ending = CommandEnding::not_run;
    CHECK(exit_status_of(result, 4) == 4);
    CHECK(command_result_file_name("accapp") == "accapp.json");
}

TEST_CASE("command runner: how the child ended goes into the result with its outputs") {
    CommandResult ok;
    record_child_result(child(ChildEnding::exited, 0, 0), ok);
    CHECK(ok.ending == CommandEnding::exited);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.text == "out");
    CHECK(ok.out.truncated);
    CHECK(ok.out.total_bytes == 100000);
    CHECK(ok.err.text == "err");
    CHECK(ok.elapsed_ms == 7);

    CommandResult killed;
    record_child_result(child(ChildEnding::signaled, -1, SIGSEGV), killed);
    CHECK(killed.ending == CommandEnding::signaled);
    CHECK(killed.signal == SIGSEGV);

    CommandResult late;
    record_child_result(child(ChildEnding::timed_out, -1, SIGKILL), late);
    CHECK(late.ending == CommandEnding::timed_out);
}

TEST_CASE("command runner: the environment is fixed and minimal") {
    CHECK(restart_command_environment() ==
          std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"});
}

TEST_CASE("user switch: root drops to the entry's user, anyone else only runs as itself") {
    const UserIdentity root{"root", 0, 0};
    const UserIdentity web{"www-data", 33, 33};
    CHECK(plan_user_switch(0, 0, web).value() == UserSwitch::drop);
    CHECK(plan_user_switch(0, 0, root).value() == UserSwitch::stay);
    CHECK(plan_user_switch(33, 33, web).value() == UserSwitch::stay);

    auto other = plan_user_switch(1000, 1000, web);
    REQUIRE_FALSE(other);
    CHECK(other.error() ==
          "running as uid 1000, not as root: cannot run a command as user 'www-data' (uid 33)");
    CHECK_FALSE(plan_user_switch(1000, 1000, root));
    // A set-user-id run (real uid differs) is not "already that user".
    CHECK_FALSE(plan_user_switch(1000, 33, web));
}

TEST_CASE("user switch: users are looked up in passwd") {
    auto root = lookup_user("root");
    REQUIRE(root);
    CHECK(root->uid == 0);
    auto missing = lookup_user("no-such-user-monsys");
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == "no such user 'no-such-user-monsys'");
}
