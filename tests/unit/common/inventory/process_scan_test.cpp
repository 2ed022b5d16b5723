#include <doctest/doctest.h>

#include <cerrno>
#include <set>

#include "common/inventory/file_reading.hpp"
#include "common/inventory/process_scan.hpp"

using namespace monsys::inventory;

namespace {

std::string fixture(const std::string& relative) {
    return std::string(MONSYS_FIXTURES_DIR) + "/inventory/" + relative;
}

// The fixture tree "unprivileged" as user 1000 sees it: the exe, cwd and ns links of every
// process but its own (pid 500) are refused, as the kernel refuses them without CAP_SYS_PTRACE.
// To root (who runs the tests) every link of the tree is readable, so the refusal is played here.
monsys::Expected<std::string, int> read_link_as_user(const std::string& path) {
    const std::string own = "/proc/500/";
    if (path.find("/proc/") != std::string::npos && path.find(own) == std::string::npos &&
        path.find("/proc/self/") == std::string::npos) {
        return monsys::unexpected(EACCES);
    }
    return read_symlink(path);
}

ProcTree unprivileged_tree() {
    return open_proc_tree(fixture("unprivileged"), read_link_as_user);
}

ProcTree privileged_tree() {
    return open_proc_tree(fixture("unprivileged"));
}

PathScanOptions as_user(std::vector<std::string> paths) {
    PathScanOptions options;
    options.paths = std::move(paths);
    options.caller = Credentials{1000, {1000}};
    return options;
}

std::vector<int> pids_of(const PathRuns& runs) {
    std::vector<int> pids;
    for (const RunningProcess& process : runs.processes) pids.push_back(process.pid);
    return pids;
}

const Process* find_pid(const ProcessesSection& section, int pid) {
    for (const Process& process : section.processes) {
        if (process.pid == pid) return &process;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("process scan: a root-owned binary app, seen without privilege by its argv[0]") {
    auto runs = processes_running(unprivileged_tree(), "/opt/accapp/run");
    CHECK_FALSE(runs.error);
    // 400 runs it as argv[0] says; 407's argv[0] is not normalized and claims nothing.
    REQUIRE(pids_of(runs) == std::vector<int>{400});
    CHECK(runs.processes[0].start_ticks == 700);
    CHECK(runs.processes[0].identity == ProcessIdentity::cmdline);
    // 407 is named "run" by the kernel and identified by nothing: it may be the app.
    CHECK(runs.unidentified == 1);

    // With privilege the same tree is read by the exe links: 400 and 407 run it.
    auto privileged = processes_running(privileged_tree(), "/opt/accapp/run");
    CHECK(pids_of(privileged) == std::vector<int>{400, 407});
    CHECK(privileged.processes[0].identity == ProcessIdentity::exe);
    CHECK(privileged.unidentified == 0);
}

TEST_CASE("process scan: `/bin/sh /opt/accapp/loop.sh` by its script, without privilege") {
    auto runs = processes_running(unprivileged_tree(), "/opt/accapp/loop.sh");
    REQUIRE(pids_of(runs) == std::vector<int>{401});
    CHECK(runs.processes[0].identity == ProcessIdentity::cmdline);
    CHECK(runs.processes[0].start_ticks == 710);
    CHECK(runs.unidentified == 0);
    // `bash ./tool.sh` (405): an interpreter whose script has no path may run any tool.sh.
    auto relative = processes_running(unprivileged_tree(), "/srv/tool/tool.sh");
    CHECK(relative.processes.empty());
    CHECK(relative.unidentified == 1);
    CHECK(pids_of(processes_running(privileged_tree(), "/srv/tool/tool.sh")) ==
          std::vector<int>{405});
    CHECK(pids_of(processes_running(unprivileged_tree(), "/opt/tool/serve.py")) ==
          std::vector<int>{406});
}

TEST_CASE("process scan: a relative argv[0] and an interpreter's inline code identify nothing") {
    auto section = scan_processes_running(unprivileged_tree(),
                                          as_user({"/opt/accapp/accapp-worker", "/usr/bin/dash"}));
    // accapp-worker (402) is a relative argv[0]; `/bin/sh -c ...` (403) and the script runner
    // (401) do not claim their interpreter as the app.
    for (const Process& process : section.processes) {
        CHECK(process.identity == ProcessIdentity::none);
    }
    const Process* worker = find_pid(section, 402);
    REQUIRE(worker);  // unidentified, and named "accapp-worker" by the kernel: it may be the app
    CHECK(worker->exe_denied);
    CHECK_FALSE(worker->exe);
    CHECK(worker->name == "accapp-worker");
    CHECK_FALSE(find_pid(section, 403));  // named "sh", not the worker; inline code, no script

    auto runs = processes_running(unprivileged_tree(), "/opt/accapp/accapp-worker");
    CHECK(runs.processes.empty());
    CHECK(runs.unidentified == 1);
    // With privilege it is simply running.
    CHECK(pids_of(processes_running(privileged_tree(), "/opt/accapp/accapp-worker")) ==
          std::vector<int>{402});
}

TEST_CASE("process scan: a rewritten argv is unidentified, and may be the app its name says") {
    auto runs = processes_running(unprivileged_tree(), "/usr/sbin/nginx");
    CHECK(runs.processes.empty());
    CHECK(runs.unidentified == 1);  // 404, named "nginx"
    // A path no process can be: the unidentified processes are named otherwise.
    auto absent = processes_running(unprivileged_tree(), "/opt/nothing/daemon");
    CHECK(absent.processes.empty());
    CHECK(absent.unidentified == 0);
    CHECK_FALSE(absent.error);
}

TEST_CASE("process scan: the reader's own process is identified by its exe link") {
    auto section = scan_processes_running(unprivileged_tree(), as_user({"/usr/bin/sleep"}));
    REQUIRE(section.processes.size() == 1);
    CHECK(section.processes[0].pid == 500);
    CHECK(section.processes[0].identity == ProcessIdentity::exe);
    CHECK_FALSE(section.processes[0].exe_denied);
    // Everything else is another user's: 2 (a kernel thread) and 400-407.
    CHECK(section.visibility.exe_denied == 9);
}

TEST_CASE("process scan: first match only, with a hint looked at first") {
    auto options = as_user({"/opt/accapp/run", "/opt/accapp/loop.sh"});
    options.first_match_only = true;
    auto first = scan_processes_running(unprivileged_tree(), options);
    CHECK(find_pid(first, 400));
    CHECK(find_pid(first, 401));
    options.hint_pids = {401, 400};
    auto hinted = scan_processes_running(unprivileged_tree(), options);
    REQUIRE(hinted.processes.size() == 2);  // both seen by their hints: /proc was not listed
    CHECK(hinted.visibility.exe_denied == 0);
}

TEST_CASE("process scan: a restart is judged by pid and start time") {
    PathRuns before;
    before.processes = {{400, 700, ProcessIdentity::cmdline}};
    PathRuns same = before;
    CHECK(new_processes(before, same).empty());
    PathRuns reused;  // the pid came back, but it is another process
    reused.processes = {{400, 990, ProcessIdentity::cmdline}};
    CHECK(new_processes(before, reused).size() == 1);
    PathRuns added;
    added.processes = {{400, 700, ProcessIdentity::cmdline}, {410, 995, ProcessIdentity::exe}};
    REQUIRE(new_processes(before, added).size() == 1);
    CHECK(new_processes(before, added)[0].pid == 410);
    CHECK(new_processes(before, PathRuns{}).empty());
}

TEST_CASE("process scan: an unlistable /proc is an error, not an absent app") {
    auto runs = processes_running(fixture("does-not-exist"), "/opt/accapp/run");
    CHECK(runs.error);
    CHECK(runs.processes.empty());
}
