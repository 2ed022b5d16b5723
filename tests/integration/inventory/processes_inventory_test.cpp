#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/inventory/collect.hpp"
#include "agent/inventory/ports.hpp"
#include "agent/inventory/processes.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/inventory/process_scan.hpp"
#include "inventory_env.hpp"

extern char** environ;

using namespace monsys::inventory;
using namespace monsys::inventory::test;
using monsys::app::AppType;

namespace {

// No doctest assertion here: the churn thread calls it too.
pid_t spawn_or_fail(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
    return pid;
}

pid_t spawn(const std::vector<std::string>& argv) {
    pid_t pid = spawn_or_fail(argv);
    REQUIRE(pid > 0);
    return pid;
}

void stop(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

const Process* find_pid(const ProcessesSection& section, int pid) {
    for (const Process& process : section.processes) {
        if (process.pid == pid) return &process;
    }
    return nullptr;
}

struct ScriptDir {
    std::string dir = "/tmp/monsys-inv-proc-" + unique_suffix();
    std::string script = dir + "/start.sh";
    ScriptDir() {
        REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
        std::ofstream(script) << "#!/bin/sh\n/bin/sleep 1000\n";
        ::chmod(script.c_str(), 0755);
    }
    ~ScriptDir() {
        std::remove(script.c_str());
        ::rmdir(dir.c_str());
    }
};

bool host_path_exists(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0;
}

}  // namespace

TEST_CASE("inventory/processes: processes started by the test, a script run by /bin/sh") {
    ScriptDir files;
    pid_t sleeper = spawn({"/bin/sleep", "1000"});
    pid_t script = spawn({"/bin/sh", files.script});
    pid_t shebang = spawn({files.script});
    // Let the exec happen before looking.
    REQUIRE(wait_for([&] {
        std::ifstream in("/proc/" + std::to_string(shebang) + "/cmdline");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return text.find(files.script) != std::string::npos && text.rfind("/bin/sh", 0) == 0;
    }));

    CollectRequest request;
    request.settings.source_timeout = std::chrono::seconds(5);
    request.sections = {Section::processes};
    request.min_process_age_secs = 0;
    auto result = collect_inventory(request);
    const Inventory& inventory = result.inventory;
    REQUIRE(inventory.processes);
    CHECK(inventory.processes->status.ok());

    const Process* sleep_row = find_pid(*inventory.processes, sleeper);
    REQUIRE(sleep_row);
    CHECK(sleep_row->ppid == ::getpid());
    CHECK(sleep_row->exe == "/usr/bin/sleep");
    CHECK(sleep_row->cmdline == "/bin/sleep 1000");
    CHECK(sleep_row->user == "root");
    CHECK(sleep_row->rss_bytes > 0);
    CHECK_FALSE(sleep_row->script);
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    CHECK(sleep_row->start_time_unix <= now + 1);
    CHECK(sleep_row->start_time_unix > now - 120);

    const Process* script_row = find_pid(*inventory.processes, script);
    REQUIRE(script_row);
    CHECK(script_row->script == files.script);
    CHECK(script_row->cmdline == "/bin/sh " + files.script);
    const Process* shebang_row = find_pid(*inventory.processes, shebang);
    REQUIRE(shebang_row);
    CHECK(shebang_row->script == files.script);

    bool offered = false;
    for (const auto& row : inventory.discovered) {
        if (row.type == AppType::process && row.identifier == files.script) offered = true;
    }
    CHECK(offered);

    PathExists exists = host_path_exists;
    CHECK(observe(inventory, AppType::process, files.script, exists).state == AppState::running);
    CHECK(observe(inventory, AppType::process, "/usr/bin/sleep", exists).state ==
          AppState::running);

    CHECK(observe(inventory, AppType::process, "/nonexistent/monsys/app", exists).state ==
          AppState::unknown);

    // The shells' own sleep children would outlive them.
    shell("pkill -KILL -P " + std::to_string(script) + "; pkill -KILL -P " +
          std::to_string(shebang));
    stop(script);
    stop(shebang);
    auto after = collect_inventory(request).inventory;
    CHECK(observe(after, AppType::process, files.script, exists).state == AppState::stopped);
    stop(sleeper);
}

TEST_CASE("inventory/processes: the user is the effective one, also of a non-dumpable process") {
    // A non-dumpable process's files in /proc/PID are owned by root; /proc/PID itself is not.
    const std::string as_nobody = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ";
    pid_t plain = spawn({"/bin/sh", "-c", "exec " + as_nobody + "/bin/sleep 1000"});
    pid_t hidden = spawn({"/bin/sh", "-c",
                          "exec " + as_nobody +
                              "/usr/bin/python3 -c 'import ctypes, time; "
                              "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(1000)'"});
    auto owner_of = [](const std::string& path) {
        struct stat info {};
        return ::stat(path.c_str(), &info) == 0 ? static_cast<long>(info.st_uid) : -1L;
    };
    const std::string hidden_dir = "/proc/" + std::to_string(hidden);
    REQUIRE(wait_for([&] {
        return owner_of("/proc/" + std::to_string(plain) + "/stat") == 65534 &&
               owner_of(hidden_dir) == 65534 && owner_of(hidden_dir + "/status") == 0;
    }));

    auto options = default_process_scan_options();
    auto section = read_processes("", options);
    const Process* plain_row = find_pid(section, plain);
    const Process* hidden_row = find_pid(section, hidden);
    REQUIRE(plain_row);
    REQUIRE(hidden_row);
    CHECK(plain_row->uid == 65534u);
    CHECK(plain_row->user == "nobody");
    CHECK(hidden_row->uid == 65534u);
    CHECK(hidden_row->user == "nobody");
    char python[PATH_MAX];
    REQUIRE(::realpath("/usr/bin/python3", python) != nullptr);
    CHECK(hidden_row->exe == std::string(python));
    stop(plain);
    stop(hidden);
}

namespace {

// Runs `body` in a child that has dropped root for user nobody (no groups, no capabilities left),
// as the packaged agent and monsys-action read /proc; returns what it wrote.
std::string as_nobody(const std::function<std::string()>& body) {
    int channel[2];
    REQUIRE(::pipe(channel) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(channel[0]);
        const uid_t nobody = 65534;
        if (::setgroups(0, nullptr) != 0 || ::setresgid(nobody, nobody, nobody) != 0 ||
            ::setresuid(nobody, nobody, nobody) != 0 || ::geteuid() != nobody) {
            ::_exit(2);
        }
        std::string text = body();
        ssize_t written = ::write(channel[1], text.data(), text.size());
        ::_exit(written == static_cast<ssize_t>(text.size()) ? 0 : 3);
    }
    ::close(channel[1]);
    std::string text;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(channel[0], buffer, sizeof buffer)) > 0) text.append(buffer, got);
    ::close(channel[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return text;
}

std::string describe(const PathRuns& runs) {
    std::ostringstream out;
    for (const RunningProcess& process : runs.processes) {
        out << process.pid << ":" << to_string(process.identity) << ":" << process.start_ticks
            << " ";
    }
    out << "unidentified=" << runs.unidentified << " error=" << runs.error.value_or("none");
    return out.str();
}

// A root-owned binary and a root-owned shell script in a directory everyone may enter.
struct RootApps {
    std::string dir = "/tmp/monsys-obs-" + unique_suffix();
    std::string binary = dir + "/monsys-obs-app";
    std::string script = dir + "/monsys-obs-loop.sh";
    RootApps() {
        REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
        std::filesystem::copy_file("/usr/bin/sleep", binary);
        ::chmod(binary.c_str(), 0755);
        std::ofstream(script) << "#!/bin/sh\nwhile :; do /bin/sleep 1; done\n";
        ::chmod(script.c_str(), 0755);
    }
    ~RootApps() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("inventory/processes: root's binary and script apps, seen by user nobody") {
    RootApps apps;
    pid_t binary = spawn({apps.binary, "1000"});
    pid_t script = spawn({"/bin/sh", apps.script});
    REQUIRE(wait_for([&] {
        char target[4096] = {};
        return ::readlink(("/proc/" + std::to_string(binary) + "/exe").c_str(), target,
                          sizeof target - 1) > 0 &&
               std::string(target) == apps.binary;
    }));

    // Root reads the exe links.
    auto as_root = processes_running("", apps.binary);
    REQUIRE(as_root.processes.size() == 1);
    CHECK(as_root.processes[0].pid == binary);
    CHECK(as_root.processes[0].identity == ProcessIdentity::exe);

    // Nobody may not: the command lines identify both.
    const std::string seen = as_nobody([&] {
        char target[16];
        bool readable = ::readlink(("/proc/" + std::to_string(binary) + "/exe").c_str(), target,
                                   sizeof target) >= 0;
        return std::string(readable ? "exe-readable" : "exe-refused") + "\n" +
               describe(processes_running("", apps.binary)) + "\n" +
               describe(processes_running("", apps.script));
    });
    MESSAGE(seen);
    std::istringstream lines(seen);
    std::string exe_line, binary_line, script_line;
    std::getline(lines, exe_line);
    std::getline(lines, binary_line);
    std::getline(lines, script_line);
    CHECK(exe_line == "exe-refused");
    CHECK(binary_line.rfind(std::to_string(binary) + ":cmdline:", 0) == 0);
    CHECK(script_line.rfind(std::to_string(script) + ":cmdline:", 0) == 0);

    // Stopped, both are seen stopped: no unidentified process may be them.
    shell("pkill -KILL -P " + std::to_string(script));
    stop(script);
    stop(binary);
    const std::string after = as_nobody([&] {
        return describe(processes_running("", apps.binary)) + "\n" +
               describe(processes_running("", apps.script));
    });
    MESSAGE(after);
    CHECK(after == "unidentified=0 error=none\nunidentified=0 error=none");
}

TEST_CASE("inventory/processes: processes exiting during the scan are skipped, never an error") {
    std::atomic<bool> churning{true};
    std::thread churn([&churning] {
        while (churning) {
            pid_t pid = spawn_or_fail({"/bin/true"});
            if (pid > 0) ::waitpid(pid, nullptr, 0);
        }
    });
    std::size_t vanished = 0;
    for (int round = 0; round < 30; ++round) {
        auto section = read_processes("", default_process_scan_options());
        CHECK(section.status.ok());
        vanished += section.vanished;
    }
    churning = false;
    churn.join();
    MESSAGE("processes that vanished mid-scan over 30 scans: " << vanished);
}

TEST_CASE("inventory/ports: listening sockets opened by the test, with their pid") {
    int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int tcp6 = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(tcp >= 0);
    REQUIRE(udp >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(tcp, 4) == 0);
    REQUIRE(::bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    auto port_of = [](int fd) {
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
        return bound.ss_family == AF_INET
                   ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                   : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    };
    std::uint16_t tcp6_port = 0;
    if (tcp6 >= 0) {
        sockaddr_in6 address6{};
        address6.sin6_family = AF_INET6;
        address6.sin6_addr = in6addr_loopback;
        if (::bind(tcp6, reinterpret_cast<sockaddr*>(&address6), sizeof address6) == 0 &&
            ::listen(tcp6, 4) == 0) {
            tcp6_port = port_of(tcp6);
        }
    }

    auto section = read_ports("", std::chrono::steady_clock::now() + std::chrono::seconds(5));
    CHECK(section.status.ok());
    auto find = [&section](const char* protocol, std::uint16_t port) -> const ListeningPort* {
        for (const auto& row : section.ports) {
            if (row.protocol == protocol && row.port == port) return &row;
        }
        return nullptr;
    };
    const ListeningPort* tcp_row = find("tcp", port_of(tcp));
    REQUIRE(tcp_row);
    CHECK(tcp_row->address == "127.0.0.1");
    CHECK(tcp_row->family == "ipv4");
    CHECK(tcp_row->pid == ::getpid());
    char self[4096] = {};
    REQUIRE(::readlink("/proc/self/exe", self, sizeof self - 1) > 0);
    CHECK(tcp_row->exe == std::string(self));
    const ListeningPort* udp_row = find("udp", port_of(udp));
    REQUIRE(udp_row);
    CHECK(udp_row->pid == ::getpid());
    if (tcp6_port != 0) {
        const ListeningPort* tcp6_row = find("tcp", tcp6_port);
        REQUIRE(tcp6_row);
        CHECK(tcp6_row->family == "ipv6");
        CHECK(tcp6_row->address == "::1");
    }
    ::close(tcp);
    ::close(udp);
    if (tcp6 >= 0) ::close(tcp6);
}
