#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>

#include "agent/inventory/processes.hpp"
#include "common/inventory/file_reading.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

namespace {

const Process* find_pid(const ProcessesSection& section, int pid) {
    auto found = std::find_if(section.processes.begin(), section.processes.end(),
                              [pid](const Process& p) { return p.pid == pid; });
    return found == section.processes.end() ? nullptr : &*found;
}

ProcessScanOptions fixture_options() {
    ProcessScanOptions options;
    options.caller = Credentials{0, {0}};
    options.clock_ticks_per_sec = 100;
    options.page_size = 4096;
    options.uid_from_status_file = true;  // a checked-out tree has no process owners
    return options;
}

}  // namespace

TEST_CASE("processes: stat with a command name holding spaces and parentheses") {
    std::string text = "103 (my (weird) name) R 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 700 1000 100 0";
    auto stat = parse_proc_stat(text);
    REQUIRE(stat);
    CHECK(stat->pid == 103);
    CHECK(stat->comm == "my (weird) name");
    CHECK(stat->state == 'R');
    CHECK(stat->ppid == 1);
    CHECK(stat->start_ticks == 700);
    CHECK(stat->rss_pages == 100);
    CHECK_FALSE(parse_proc_stat("12 (x) S 1 2"));
    CHECK_FALSE(parse_proc_stat("garbage"));
    CHECK_FALSE(parse_proc_stat(""));
}

TEST_CASE("processes: status, btime and passwd") {
    CHECK(parse_status_euid("Name:\tx\nUid:\t1000\t33\t33\t33\n") == 33u);
    CHECK_FALSE(parse_status_euid("Name:\tx\n"));
    CHECK(parse_boot_time("cpu 1 2\nbtime 1700000000\n") == 1700000000);
    CHECK_FALSE(parse_boot_time("cpu 1 2\n"));
    auto users = parse_passwd("root:x:0:0::/root:/bin/sh\n#c\nbad line\nweb:x:33:33::/:/bin/false");
    CHECK(users.size() == 2);
    CHECK(users[33] == "web");
}

TEST_CASE("processes: hidepid from mountinfo") {
    std::string plain = "21 26 0:20 / /proc rw,relatime shared:12 - proc proc rw\n";
    CHECK_FALSE(parse_proc_visibility(plain, Credentials{1000, {1000}}).hidepid);
    std::string hidden =
        plain + "30 21 0:25 / /proc rw,relatime - proc proc rw,hidepid=invisible,gid=1001\n";
    auto user = parse_proc_visibility(hidden, Credentials{1000, {1000}});
    CHECK(user.hidepid == "invisible");
    CHECK(user.restricted);
    CHECK_FALSE(parse_proc_visibility(hidden, Credentials{1000, {1000, 1001}}).restricted);
    CHECK_FALSE(parse_proc_visibility(hidden, Credentials{0, {0}}).restricted);
    std::string off = "21 26 0:20 / /proc rw - proc proc rw,hidepid=0\n";
    CHECK_FALSE(parse_proc_visibility(off, Credentials{1000, {1000}}).restricted);
}

TEST_CASE("processes: reads a fixture tree") {
    auto section = read_processes(fixture("host1"), fixture_options());
    CHECK(section.status.ok());
    CHECK(section.vanished == 1);  // pid 300 has no stat: it exited between readdir and read
    CHECK(section.visibility.hidepid == "invisible");
    CHECK_FALSE(section.visibility.restricted);  // the caller is root
    REQUIRE(section.processes.size() == 9);
    CHECK(std::is_sorted(section.processes.begin(), section.processes.end(),
                         [](const Process& a, const Process& b) { return a.pid < b.pid; }));

    const Process* init = find_pid(section, 1);
    REQUIRE(init);
    CHECK(init->exe == "/usr/lib/systemd/systemd");
    CHECK(init->cmdline == "/sbin/init splash");
    CHECK(init->user == "root");
    CHECK(init->start_time_unix == 1700000000);
    CHECK(init->rss_bytes == 3000u * 4096u);
    CHECK_FALSE(init->script);

    const Process* script = find_pid(section, 100);
    REQUIRE(script);
    CHECK(script->exe == "/usr/bin/dash");
    CHECK(script->script == "/opt/myapp/start.sh");
    CHECK(script->user == "app");
    CHECK(script->start_time_unix == 1700000005);

    const Process* relative = find_pid(section, 101);
    REQUIRE(relative);
    CHECK(relative->script == "/srv/app/run.sh");

    const Process* kernel_thread = find_pid(section, 102);
    REQUIRE(kernel_thread);
    CHECK_FALSE(kernel_thread->exe);
    CHECK(kernel_thread->cmdline.empty());
    CHECK(kernel_thread->state == 'I');

    const Process* weird = find_pid(section, 103);
    REQUIRE(weird);
    CHECK(weird->cmdline == "/usr/sbin/nginx -g daemon off;");
    CHECK(weird->user == "www-data");

    CHECK_FALSE(find_pid(section, 104)->script);  // sh -c
    CHECK(find_pid(section, 105)->script == "/opt/tool/serve.py");

    const Process* contained = find_pid(section, 200);
    REQUIRE(contained);
    CHECK(contained->foreign_root);
    CHECK_FALSE(init->foreign_root);

    const Process* long_cmdline = find_pid(section, 106);
    REQUIRE(long_cmdline);
    CHECK(long_cmdline->cmdline_truncated);
    CHECK(long_cmdline->cmdline.size() <= 4096);
}

TEST_CASE("processes: hidepid in force for an unprivileged caller") {
    auto options = fixture_options();
    options.caller = Credentials{1000, {1000}};
    auto section = read_processes(fixture("host1"), options);
    CHECK(section.visibility.restricted);
}

TEST_CASE("processes: a targeted scan keeps the first process of each wanted path") {
    PathScanOptions options;
    options.caller = Credentials{0, {0}};
    options.first_match_only = true;
    options.paths = {"/usr/bin/dash", "/usr/sbin/nginx", "/opt/myapp/start.sh"};
    auto pids = [](const ProcessesSection& section) {
        std::vector<int> out;
        for (const Process& process : section.processes) out.push_back(process.pid);
        return out;
    };
    const ProcTree tree = open_proc_tree(fixture("host1"));
    // Pid order: 100 runs dash and the script, 103 nginx; 101 and 104 (dash too) are not kept.
    CHECK(pids(scan_processes_running(tree, options)) == std::vector<int>{100, 103});

    // A hint is looked at first: 104 runs dash as well, so it stands for dash.
    options.hint_pids = {104};
    CHECK(pids(scan_processes_running(tree, options)) == std::vector<int>{100, 103, 104});

    // Hints that no longer run a wanted path (gone, or something else) change nothing.
    options.hint_pids = {300, 1, 999};
    CHECK(pids(scan_processes_running(tree, options)) == std::vector<int>{100, 103});

    // A path no process runs: every process is looked at, and the others are still found.
    options.hint_pids = {};
    options.paths = {"/usr/sbin/nginx", "/opt/nothing/runs/this"};
    auto section = scan_processes_running(tree, options);
    CHECK(pids(section) == std::vector<int>{103});
    CHECK(section.status.ok());
    CHECK(section.processes[0].identity == ProcessIdentity::exe);
    CHECK(section.processes[0].start_ticks == 700);
}

TEST_CASE("processes: the full inventory as a reader without privilege") {
    auto options = fixture_options();
    options.caller = Credentials{1000, {1000}};
    // Every link but those of pid 500 (the reader's own) is refused, as the kernel refuses it.
    options.read_link = [](const std::string& path) -> monsys::Expected<std::string, int> {
        if (path.find("/proc/500/") == std::string::npos &&
            path.find("/proc/self/") == std::string::npos) {
            return monsys::unexpected(EACCES);
        }
        return read_symlink(path);
    };
    auto section = read_processes(fixture("unprivileged"), options);
    CHECK(section.status.ok());
    CHECK(section.visibility.exe_denied == 9);

    const Process* binary = find_pid(section, 400);
    REQUIRE(binary);
    CHECK(binary->exe == "/opt/accapp/run");
    CHECK(binary->identity == ProcessIdentity::cmdline);
    CHECK(binary->exe_denied);
    CHECK(binary->name == "run");
    CHECK(binary->user == "root");

    const Process* script = find_pid(section, 401);
    REQUIRE(script);
    CHECK_FALSE(script->exe);
    CHECK(script->script == "/opt/accapp/loop.sh");
    CHECK(script->identity == ProcessIdentity::cmdline);

    const Process* relative = find_pid(section, 402);
    REQUIRE(relative);
    CHECK_FALSE(relative->exe);
    CHECK(relative->identity == ProcessIdentity::none);

    const Process* inline_code = find_pid(section, 403);
    REQUIRE(inline_code);
    CHECK_FALSE(inline_code->exe);
    CHECK_FALSE(inline_code->script);
    CHECK(inline_code->identity == ProcessIdentity::none);

    const Process* own = find_pid(section, 500);
    REQUIRE(own);
    CHECK(own->exe == "/usr/bin/sleep");
    CHECK(own->identity == ProcessIdentity::exe);
    CHECK_FALSE(own->exe_denied);
}

TEST_CASE("processes: a missing /proc is a section error") {
    auto section = read_processes(fixture("does-not-exist"), fixture_options());
    CHECK_FALSE(section.status.ok());
    CHECK(section.processes.empty());
}

TEST_CASE("processes: the cap on the number of processes is reported, not silent") {
    auto options = fixture_options();
    options.max_processes = 3;
    auto section = read_processes(fixture("host1"), options);
    CHECK_FALSE(section.status.ok());
    CHECK(section.processes.size() == 3);
}
