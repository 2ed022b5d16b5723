// The real process source on this host's /proc: a scan finds a child that runs a path, and its
// pidfd reports its exit at once.
#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <climits>
#include <cstdlib>

#include "agent/observe/process_source.hpp"

using namespace monsys;
using namespace monsys::agent::observe;
using namespace std::chrono_literals;

extern char** environ;

namespace {

int spawn_sleep() {
    pid_t pid = 0;
    char arg0[] = "/bin/sleep";
    char arg1[] = "30";
    char* argv[] = {arg0, arg1, nullptr};
    REQUIRE(::posix_spawn(&pid, "/bin/sleep", nullptr, nullptr, argv, environ) == 0);
    return pid;
}

std::string sleep_path() {
    char resolved[PATH_MAX];
    REQUIRE(::realpath("/bin/sleep", resolved) != nullptr);
    return resolved;
}

struct Exit {
    std::string path;
    int pid = 0;
};

}  // namespace

TEST_CASE("process source: a scan finds the process that runs a path; its exit is reported") {
    asio::io_context io;
    // The scan's answer comes from another thread: run_for must wait for it, not return idle.
    auto guard = asio::make_work_guard(io);
    std::vector<Exit> exits;
    SourceEvents events;
    events.process_exited = [&exits](const std::string& path, int pid, SystemTime) {
        exits.push_back({path, pid});
    };
    auto source = make_process_source(io.get_executor(), "", 5000ms, events);
    const int pid = spawn_sleep();
    const std::string path = sleep_path();

    std::optional<inventory::ProcessesSection> scanned;
    source->scan({{path}, {pid}}, [&scanned](inventory::ProcessesSection section) {
        scanned = std::move(section);
    });
    for (int i = 0; i < 500 && !scanned; ++i) io.run_for(10ms), io.restart();
    REQUIRE(scanned);
    CHECK(scanned->status.ok());
    bool found = false;
    for (const auto& process : scanned->processes) found = found || process.pid == pid;
    CHECK(found);

    source->watch_exits({{path, pid}});
    io.restart();
    io.run_for(50ms);
    CHECK(exits.empty());  // still running

    const auto killed = std::chrono::steady_clock::now();
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 200 && exits.empty(); ++i) io.restart(), io.run_for(5ms);
    ::waitpid(pid, nullptr, 0);
    REQUIRE(exits.size() == 1);
    CHECK(exits[0].path == path);
    CHECK(exits[0].pid == pid);
    CHECK(std::chrono::steady_clock::now() - killed < 1s);

    // A pid that is already gone is reported at once.
    source->watch_exits({{path, pid}});
    for (int i = 0; i < 100 && exits.size() < 2; ++i) io.restart(), io.run_for(5ms);
    CHECK(exits.size() == 2);

    // After stop(), nothing more.
    const int other = spawn_sleep();
    source->watch_exits({{path, other}});
    source->stop();
    ::kill(other, SIGKILL);
    ::waitpid(other, nullptr, 0);
    io.restart();
    io.run_for(50ms);
    CHECK(exits.size() == 2);
}
