// restart_systemd_unit against a real systemd user manager (scripts/testenv).
#include <doctest/doctest.h>

#include <string>

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

}  // namespace

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
