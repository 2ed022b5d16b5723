#pragma once
// A process app and its restart the way the package sets it up, in the test's systemd user
// manager: the real systemd/monsys-restart@.service with its ExecStart pointed at the built
// monsys-action and at this test's policy and result directory, a trusted directory under /run
// (root-owned all the way up, unlike /tmp) holding the policy, the results, restart commands and
// the app, which is a copy of /bin/sleep so that its path is its own.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/support/testenv.hpp"

namespace monsys::testing {

class ProcessRestartEnv {
  public:
    // `policy_path`: the policy the unit's run-restart-command reads; empty: policy.json here.
    explicit ProcessRestartEnv(std::string policy_path = "") {
        REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
        std::string pattern = "/run/monsys-process-it.XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        ::chmod(dir_.c_str(), 0755);
        std::filesystem::create_directory(results_dir());
        ::chmod(results_dir().c_str(), 0750);
        policy_path_ = policy_path.empty() ? file("policy.json") : policy_path;
        REQUIRE(run("cp /bin/sleep " + shell_quote(app_path())).exit_code == 0);
        ::chmod(app_path().c_str(), 0755);
        install_unit();
    }
    ~ProcessRestartEnv() {
        for (const auto& entry : entries_) {
            run("systemctl --user stop " + shell_quote(unit(entry)) +
                "; systemctl --user reset-failed " + shell_quote(unit(entry)));
        }
        for (int pid : app_pids()) ::kill(pid, SIGKILL);
        ::unlink(unit_path().c_str());
        run("systemctl --user daemon-reload");
        std::filesystem::remove_all(dir_);
    }
    ProcessRestartEnv(const ProcessRestartEnv&) = delete;
    ProcessRestartEnv& operator=(const ProcessRestartEnv&) = delete;

    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    std::string results_dir() const { return file("results"); }
    std::string app_path() const { return file("app"); }
    std::string pid_file() const { return file("app.pid"); }
    const std::string& policy_path() const { return policy_path_; }

    // A fresh entry name, remembered so that its unit is stopped at the end.
    std::string entry(const std::string& prefix) {
        entries_.push_back(unique_name(prefix));
        return entries_.back();
    }
    static std::string unit(const std::string& entry) {
        return "monsys-restart@" + entry + ".service";
    }

    // Writes a restart command (0755, root's, in this trusted directory).
    std::string command(const std::string& name, const std::string& body) const {
        const std::string path = file(name);
        write_file(path, "#!/bin/sh\n" + body, true);
        return path;
    }
    // The command a real restart would be: ends the app's pid from the pid file and starts a new
    // one in the background, detached from the command's output, and writes its pid.
    std::string restart_command(const std::string& name = "restart.sh") const {
        return command(name, "old=$(cat " + pid_file() + " 2>/dev/null)\n" +
                                 "[ -n \"$old\" ] && kill \"$old\"\n" + app_path() +
                                 " 100000 </dev/null >/dev/null 2>&1 &\necho $! > " + pid_file() +
                                 "\necho \"restarted: $old -> $!\"\n");
    }

    nlohmann::json entry_json(const std::string& command, const std::string& user = "root") const {
        return {{"app", app_path()}, {"command", command}, {"user", user}};
    }
    void write_policy(const nlohmann::json& restart_commands) const {
        write_file(policy_path_, nlohmann::json({{"restart_commands", restart_commands}}).dump(2));
        ::chmod(policy_path_.c_str(), 0644);
    }

    // Starts the app outside the unit (as an operator would have), writing its pid file.
    int start_app() const {
        std::string pid =
            run_output("setsid " + app_path() + " 100000 </dev/null >/dev/null 2>&1 & echo $!");
        write_file(pid_file(), pid + "\n");
        int value = std::stoi(pid);
        REQUIRE(wait_for([this, value] { return runs_app(value); }, std::chrono::seconds(5)));
        return value;
    }
    int pid_from_file() const {
        int pid = 0;
        std::ifstream(pid_file()) >> pid;
        return pid;
    }
    // Whether `pid` runs the app now (not a zombie).
    bool runs_app(int pid) const {
        std::error_code ec;
        auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
        if (ec || exe != app_path()) return false;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        auto close = text.rfind(')');
        return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
    }
    std::vector<int> app_pids() const {
        std::vector<int> pids;
        for (const auto& item : std::filesystem::directory_iterator("/proc")) {
            const std::string name = item.path().filename();
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            if (runs_app(std::stoi(name))) pids.push_back(std::stoi(name));
        }
        return pids;
    }
    // The systemd unit (cgroup) a pid belongs to, from /proc/PID/cgroup.
    static std::string cgroup_of(int pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
        std::string line, all;
        while (std::getline(in, line)) all += line + "\n";
        return all;
    }

    nlohmann::json read_result(const std::string& entry) const {
        std::ifstream in(results_dir() + "/" + entry + ".json");
        std::stringstream text;
        text << in.rdbuf();
        return nlohmann::json::parse(text.str(), nullptr, false);
    }

  private:
    std::string unit_path() const {
        return TestEnv::get().user_unit_dir() + "/monsys-restart@.service";
    }
    // The packaged template, with ExecStart replaced: the rest (Type=oneshot, RemainAfterExit,
    // KillMode, ...) is what is tested.
    void install_unit() const {
        std::ifstream in(std::string(MONSYS_SOURCE_DIR) + "/systemd/monsys-restart@.service");
        REQUIRE(in);
        std::string text, line;
        bool replaced = false;
        while (std::getline(in, line)) {
            if (line.rfind("ExecStart=", 0) == 0) {
                line = "ExecStart=" + std::string(MONSYS_ACTION_BINARY) + " --policy " +
                       policy_path_ + " run-restart-command --result-dir " + results_dir() + " %i";
                replaced = true;
            }
            text += line + "\n";
        }
        REQUIRE(replaced);
        REQUIRE(write_file(unit_path(), text));
        REQUIRE(run("systemctl --user daemon-reload").exit_code == 0);
    }

    std::string dir_;
    std::string policy_path_;
    std::vector<std::string> entries_;
};

}  // namespace monsys::testing
