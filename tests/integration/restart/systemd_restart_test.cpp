// restart_systemd_unit and restart_systemd_app against a real systemd user manager
// (scripts/testenv): restarts, and the unit rules where only systemd knows a unit's names.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "action-wrapper/policy/unit_rules.hpp"
#include "action-wrapper/restart/systemd_restart.hpp"
#include "tests/integration/support/testenv.hpp"

namespace {

using monsys::action::RestartStatus;
using monsys::io::SystemdBusSettings;
using namespace monsys::testing;
using namespace std::chrono_literals;

SystemdBusSettings user_bus() {
    SystemdBusSettings settings;
    settings.kind = SystemdBusSettings::Kind::user;
    settings.call_timeout = 10s;
    return settings;
}

// A user unit written into the manager's unit directory, stopped and removed on destruction.
class UserUnit {
  public:
    UserUnit(std::string prefix, const std::string& service_section)
        : name_(unique_name(prefix) + ".service"),
          path_(TestEnv::get().user_unit_dir() + "/" + name_) {
        write_file(path_, "[Unit]\nDescription=monsys test unit\n[Service]\n" + service_section);
        run("systemctl --user daemon-reload");
    }
    ~UserUnit() {
        run("systemctl --user stop " + shell_quote(name_));
        ::unlink(path_.c_str());
        run("systemctl --user daemon-reload; systemctl --user reset-failed " + shell_quote(name_));
    }
    const std::string& name() const { return name_; }
    std::string show(const char* property) const {
        return run_output("systemctl --user show -p " + std::string(property) + " --value " +
                          shell_quote(name_));
    }

  private:
    std::string name_;
    std::string path_;
};

// A unit file of any type in the manager's unit directory (e.g. a .target, a template),
// stopped, disabled and removed on destruction.
class UserUnitFile {
  public:
    UserUnitFile(std::string name, const std::string& content)
        : name_(std::move(name)), path_(TestEnv::get().user_unit_dir() + "/" + name_) {
        write_file(path_, content);
        run("systemctl --user daemon-reload");
    }
    ~UserUnitFile() {
        run("systemctl --user stop " + shell_quote(name_) + "; systemctl --user disable " +
            shell_quote(name_));
        ::unlink(path_.c_str());
        run("systemctl --user daemon-reload; systemctl --user reset-failed " + shell_quote(name_));
    }
    const std::string& name() const { return name_; }
    std::string show(const std::string& unit, const char* property) const {
        return run_output("systemctl --user show -p " + std::string(property) + " --value " +
                          shell_quote(unit));
    }

  private:
    std::string name_;
    std::string path_;
};

const char* kSleeperService = "[Service]\nExecStart=/bin/sleep 100000\n";

}  // namespace

TEST_CASE("systemd app: a .target is refused by policy and not started") {
    REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
    UserUnitFile target(unique_name("halt") + ".target", "[Unit]\nDescription=monsys test\n");
    REQUIRE(target.show(target.name(), "LoadState") == "loaded");

    auto outcome = monsys::action::restart_systemd_app(user_bus(), target.name(), {}, 30s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(target.show(target.name(), "ActiveState") == "inactive");
    REQUIRE(outcome.policy_refusal);
    CHECK(*outcome.policy_refusal ==
          target.name() + " is not a service: only .service units are restarted");
    CHECK(outcome.status == RestartStatus::failed);
}

TEST_CASE("systemd app: a template without an instance is refused, no instance starts") {
    REQUIRE(TestEnv::get().ready());
    const std::string prefix = unique_name("tpl");
    UserUnitFile templ(prefix + "@.service", "[Service]\nExecStart=/bin/sleep 100000\n");

    auto outcome = monsys::action::restart_systemd_app(user_bus(), templ.name(), {}, 30s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    REQUIRE(outcome.policy_refusal);
    CHECK(*outcome.policy_refusal == templ.name() +
                                         " is a template without an instance: only its instances "
                                         "(" +
                                         prefix + "@NAME.service) are restarted");
    CHECK(run_output("systemctl --user list-units --all --no-legend " +
                     shell_quote(prefix + "@*")) == "");
}

TEST_CASE("systemd app: an alias of a denied unit is refused, the unit keeps its MainPID") {
    REQUIRE(TestEnv::get().ready());
    const std::string alias = unique_name("innocent") + ".service";
    UserUnitFile real(unique_name("guarded") + ".service",
                      std::string(kSleeperService) + "[Install]\nAlias=" + alias + "\n");
    REQUIRE(run("systemctl --user enable " + shell_quote(real.name())).exit_code == 0);
    REQUIRE(run("systemctl --user start " + shell_quote(real.name())).exit_code == 0);
    const std::string pid = real.show(real.name(), "MainPID");
    REQUIRE(pid != "0");
    REQUIRE(real.show(alias, "Id") == real.name());
    // The alias alone passes every check by name: only systemd knows what it names.
    const std::vector<std::string> denied = {real.name()};
    REQUIRE(monsys::action::check_unit_name_allowed(alias, denied));

    auto outcome = monsys::action::restart_systemd_app(user_bus(), alias, denied, 30s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(real.show(real.name(), "MainPID") == pid);
    REQUIRE(outcome.policy_refusal);
    CHECK(*outcome.policy_refusal == alias + " is an alias of " + real.name() +
                                         ", which is on the local policy's deny list "
                                         "(denied_units)");
}

TEST_CASE("systemd app: an alias of an allowed unit restarts the unit it names") {
    REQUIRE(TestEnv::get().ready());
    const std::string alias = unique_name("nickname") + ".service";
    UserUnitFile real(unique_name("named") + ".service",
                      std::string(kSleeperService) + "[Install]\nAlias=" + alias + "\n");
    REQUIRE(run("systemctl --user enable " + shell_quote(real.name())).exit_code == 0);
    REQUIRE(run("systemctl --user start " + shell_quote(real.name())).exit_code == 0);
    const std::string old_pid = real.show(real.name(), "MainPID");

    auto outcome = monsys::action::restart_systemd_app(user_bus(), alias, {}, 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK_FALSE(outcome.policy_refusal);
    CHECK(outcome.status == RestartStatus::succeeded);
    const std::string new_pid = real.show(real.name(), "MainPID");
    CHECK(new_pid != old_pid);
    CHECK(outcome.stdout_output.text ==
          real.name() + " restarted: MainPID " + old_pid + " -> " + new_pid);
}

TEST_CASE("systemd app: a stopped service is started by the restart, with a new MainPID") {
    REQUIRE(TestEnv::get().ready());
    UserUnit unit("tracked", "ExecStart=/bin/sleep 100000\n");
    REQUIRE(run("systemctl --user start " + shell_quote(unit.name())).exit_code == 0);
    const std::string old_pid = unit.show("MainPID");
    REQUIRE(old_pid != "0");
    REQUIRE(run("systemctl --user stop " + shell_quote(unit.name())).exit_code == 0);
    REQUIRE(unit.show("ActiveState") == "inactive");

    auto outcome = monsys::action::restart_systemd_app(user_bus(), unit.name(), {}, 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK_FALSE(outcome.policy_refusal);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.before["ActiveState"] == "inactive");
    CHECK(outcome.before["MainPID"] == 0);
    const std::string new_pid = unit.show("MainPID");
    CHECK(new_pid != "0");
    CHECK(new_pid != old_pid);
    CHECK(unit.show("ActiveState") == "active");
    CHECK(outcome.stdout_output.text == unit.name() + " restarted: MainPID 0 -> " + new_pid);
}

TEST_CASE("systemd app: a service that is not loaded (never started) is resolved and started") {
    REQUIRE(TestEnv::get().ready());
    UserUnit unit("cold", "ExecStart=/bin/sleep 100000\n");
    // Unstarted units are unloaded again by the manager's garbage collection; LoadUnit finds them.
    auto outcome = monsys::action::restart_systemd_app(user_bus(), unit.name(), {}, 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(unit.show("ActiveState") == "active");
}

TEST_CASE("systemd app: a service that does not exist fails with systemd's own text") {
    REQUIRE(TestEnv::get().ready());
    const std::string name = unique_name("absent") + ".service";

    auto outcome = monsys::action::restart_systemd_app(user_bus(), name, {}, 30s);

    CHECK_FALSE(outcome.policy_refusal);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text ==
          "org.freedesktop.systemd1.NoSuchUnit: Unit " + name + " not found.");
}

TEST_CASE("systemd: restarting a running user unit gives it a new MainPID") {
    REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
    UserUnit unit("sleeper", "ExecStart=/bin/sleep 100000\n");
    REQUIRE(run("systemctl --user start " + shell_quote(unit.name())).exit_code == 0);
    const std::string old_pid = unit.show("MainPID");
    REQUIRE(old_pid != "0");

    auto outcome = monsys::action::restart_systemd_unit(user_bus(), unit.name(), 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.before["ActiveState"] == "active");
    CHECK(std::to_string(outcome.before["MainPID"].get<unsigned>()) == old_pid);
    const std::string new_pid = unit.show("MainPID");
    CHECK(new_pid != old_pid);
    CHECK(new_pid != "0");
    CHECK(std::to_string(outcome.after["MainPID"].get<unsigned>()) == new_pid);
    CHECK(outcome.after["ActiveState"] == "active");
    CHECK(outcome.after["SubState"] == "running");
    CHECK(unit.show("ActiveState") == "active");
    CHECK(outcome.stdout_output.text ==
          unit.name() + " restarted: MainPID " + old_pid + " -> " + new_pid);
}

TEST_CASE("systemd: restarting a stopped unit starts it") {
    REQUIRE(TestEnv::get().ready());
    UserUnit unit("stopped", "ExecStart=/bin/sleep 100000\n");

    auto outcome = monsys::action::restart_systemd_unit(user_bus(), unit.name(), 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::succeeded);
    CHECK(outcome.after["ActiveState"] == "active");
    CHECK(unit.show("ActiveState") == "active");
}

TEST_CASE("systemd: a unit that does not exist fails with systemd's NoSuchUnit text") {
    REQUIRE(TestEnv::get().ready());
    const std::string name = unique_name("absent") + ".service";
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_systemd_unit(user_bus(), name, 30s);

    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.exit_code == 1);
    CHECK(outcome.stderr_output.text ==
          "org.freedesktop.systemd1.NoSuchUnit: Unit " + name + " not found.");
    CHECK(outcome.before["LoadState"] == "not-loaded");
}

TEST_CASE("systemd: a unit whose start fails reports the job result 'failed'") {
    REQUIRE(TestEnv::get().ready());
    UserUnit unit("broken", "Type=exec\nExecStart=/nonexistent/monsys-binary\n");

    auto outcome = monsys::action::restart_systemd_unit(user_bus(), unit.name(), 60s);

    INFO(outcome.stdout_output.text, " / ", outcome.stderr_output.text);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("ended with result 'failed'") != std::string::npos);
    CHECK(outcome.stderr_output.text.find("(service result: exit-code)") != std::string::npos);
    CHECK(outcome.after["ActiveState"] == "failed");
}

TEST_CASE("systemd: an unreachable bus fails clearly and quickly") {
    REQUIRE(TestEnv::get().ready());
    const std::string saved = TestEnv::get().value("DBUS_SESSION_BUS_ADDRESS");
    ::setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/monsys/bus", 1);
    auto start = std::chrono::steady_clock::now();

    auto outcome = monsys::action::restart_systemd_unit(user_bus(), "any.service", 30s);

    ::setenv("DBUS_SESSION_BUS_ADDRESS", saved.c_str(), 1);
    CHECK(elapsed_ms(start) < 10000);
    CHECK(outcome.status == RestartStatus::failed);
    CHECK(outcome.stderr_output.text.find("user bus") != std::string::npos);
}
