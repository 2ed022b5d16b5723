// The monsys-action binary end to end: tokens minted with PyJWT (an independent JOSE
// implementation), a real systemd user manager and podman, the outcome checked on the host.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/action/action_key.hpp"
#include "common/action/result_signature.hpp"
#include "common/action/wrapper_output.hpp"
#include "tests/integration/support/process_restart_env.hpp"
#include "tests/integration/support/testenv.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace monsys::testing;

const std::string source_dir = MONSYS_SOURCE_DIR;
const std::string mint = "/usr/bin/python3 " + source_dir + "/tests/tools/mint_eat.py";
const std::string hub_key = source_dir + "/tests/fixtures/eat/hub-1.pem";
const std::string other_key = source_dir + "/tests/fixtures/eat/hub-2.pem";
constexpr const char* agent_id = "agent-it";
constexpr const char* issuer = "monsys-hub";

// A directory monsys-action will trust: under /run (root-owned, not world-writable all the way
// up), unlike /tmp. Holds the config, the policy, the state and restart commands.
class TrustedDir {
  public:
    TrustedDir() {
        std::string pattern = "/run/monsys-action-it.XXXXXX";
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
        chmod(path_.c_str(), 0755);
        fs::create_directory(path_ + "/state");
    }
    ~TrustedDir() { fs::remove_all(path_); }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

struct ActionRun {
    int exit_code = -1;
    json result;
    std::string raw;
    std::string result_line;                // line 1, the bytes the signature covers
    std::optional<std::string> result_jws;  // line 2
};

class Harness {
  public:
    Harness() {
        REQUIRE_MESSAGE(TestEnv::get().ready(), "no test environment at " << TestEnv::get().path());
        write_config(json::object());
    }

    // Writes the config; `overrides` replaces fields of the default test config.
    void write_config(const json& overrides) {
        json config = {{"agent_id", agent_id},
                       {"issuer", issuer},
                       {"hub_keys", {{"hub-1", run_output(mint + " --public-key " + hub_key)}}},
                       {"systemd_bus", "user"},
                       {"docker_socket", TestEnv::get().docker_socket()},
                       {"state_dir", dir_.file("state")},
                       {"restart_timeout_secs", 60},
                       {"source_timeout_secs", 10}};
        for (const auto& [key, value] : overrides.items()) config[key] = value;
        write_file(config_path(), "// written by the test\n" + config.dump(2));
        chmod(config_path().c_str(), 0640);
    }
    void write_policy(const std::string& text) {
        write_file(policy_path(), text);
        chmod(policy_path().c_str(), 0644);
    }
    std::string config_path() const { return dir_.file("agent.json"); }
    std::string policy_path() const { return dir_.file("policy.json"); }
    const TrustedDir& dir() const { return dir_; }

    // A token for this agent; `options` are mint_eat.py options.
    std::string token(const std::string& options, const std::string& key = hub_key) const {
        std::string token = run_output(mint + " --key " + shell_quote(key) + " --sub " + agent_id +
                                       " --iss " + issuer + " " + options);
        REQUIRE_MESSAGE(token.size() > 100, "minting failed: " << token);
        return token;
    }

    ActionRun run_action(const std::string& args, const std::string& token) const {
        // run() adds 2>&1 after the command; the parentheses keep stderr out of the JSON.
        std::string command = "(printf '%s' " + shell_quote(token) + " | " + MONSYS_ACTION_BINARY +
                              " --config " + shell_quote(config_path()) + " --policy " +
                              shell_quote(policy_path()) + " " + args + " 2>/dev/null)";
        RunResult ran = run(command);
        ActionRun action;
        action.exit_code = ran.exit_code;
        action.raw = ran.output;
        // Two lines: the result, then its signature (docs/monsys-action.md, "Output").
        auto output = monsys::results::parse_wrapper_output(ran.output);
        if (output) {
            action.result = std::move(output->result);
            action.result_line = std::move(output->result_text);
            action.result_jws = std::move(output->result_jws);
        } else {
            action.result = json::parse(ran.output, nullptr, false);
        }
        return action;
    }

    // The result's signature verifies with the key monsys-action keeps in state_dir, over
    // exactly the result line.
    void check_signed(const ActionRun& action) const {
        REQUIRE_MESSAGE(action.result_jws, "no signature line: " << action.raw);
        auto document = monsys::results::read_action_public_key(dir_.file("state"));
        REQUIRE_MESSAGE(document, document.error());
        auto key = monsys::results::public_key_from_jwk(document->at("jwk"));
        REQUIRE(key);
        auto verified = monsys::results::verify_compact(
            *action.result_jws, monsys::results::result_jws_type, *key);
        REQUIRE_MESSAGE(verified, verified.error());
        CHECK(verified->payload == action.result_line);
        CHECK(verified->kid == document->at("kid"));
    }

  private:
    TrustedDir dir_;
};

std::string unit_property(const std::string& unit, const char* property) {
    return run_output("systemctl --user show -p " + std::string(property) + " --value " +
                      shell_quote(unit));
}

// A transient user unit running sleep, stopped on destruction.
class SleeperUnit {
  public:
    SleeperUnit() : name_(unique_name("action-it") + ".service") {
        REQUIRE(run("systemd-run --user --unit=" + name_ + " /bin/sleep 100000").exit_code == 0);
        REQUIRE(wait_for([this] { return main_pid() != "0" && !main_pid().empty(); },
                         std::chrono::seconds(10)));
    }
    ~SleeperUnit() { run("systemctl --user stop " + shell_quote(name_)); }
    const std::string& name() const { return name_; }
    std::string main_pid() const { return unit_property(name_, "MainPID"); }

  private:
    std::string name_;
};

std::string systemd_app(const std::string& unit) {
    return "--app-id app-1 --app-type systemd --identifier " + unit;
}

}  // namespace

TEST_CASE("monsys-action: a signed token restarts a real unit once, and the replay is refused") {
    Harness harness;
    SleeperUnit unit;
    const std::string old_pid = unit.main_pid();
    const std::string token = harness.token(systemd_app(unit.name()));

    ActionRun first = harness.run_action("restart-app app-1", token);
    INFO(first.raw);
    CHECK(first.exit_code == 0);
    REQUIRE(first.result.is_object());
    CHECK(first.result["status"] == "succeeded");
    CHECK(first.result["type"] == "systemd");
    CHECK(first.result["identifier"] == unit.name());
    CHECK(first.result["exit_code"] == 0);
    CHECK(first.result["before"]["MainPID"].dump() == old_pid);
    const std::string new_pid = unit.main_pid();
    CHECK(new_pid != old_pid);
    CHECK(first.result["after"]["MainPID"].dump() == new_pid);
    CHECK(first.result["stdout"] ==
          unit.name() + " restarted: MainPID " + old_pid + " -> " + new_pid);
    CHECK(first.result["jti"].is_string());
    CHECK(first.result["duration_ms"].get<long>() >= 0);
    harness.check_signed(first);

    ActionRun replay = harness.run_action("restart-app app-1", token);
    INFO(replay.raw);
    CHECK(replay.exit_code == 3);
    CHECK(replay.result["status"] == "rejected");
    CHECK(replay.result["reason"] == "replayed");
    CHECK(replay.result["exit_code"].is_null());
    CHECK(unit.main_pid() == new_pid);  // nothing was restarted
    harness.check_signed(replay);  // a refusal is evidence too
}

TEST_CASE("monsys-action: two processes racing with one token restart once") {
    Harness harness;
    SleeperUnit unit;
    const std::string old_pid = unit.main_pid();
    const std::string token = harness.token(systemd_app(unit.name()));
    const std::string one = "printf '%s' " + shell_quote(token) + " | " + MONSYS_ACTION_BINARY +
                            " --config " + shell_quote(harness.config_path()) +
                            " restart-app app-1 >/dev/null 2>&1; echo $?";
    std::string codes = run_output("(" + one + ") & (" + one + ") & wait");
    std::sort(codes.begin(), codes.end());
    CHECK(codes == "\n03");  // one 0 (restarted) and one 3 (replayed)
    CHECK(unit.main_pid() != old_pid);
}

TEST_CASE("monsys-action: refused tokens restart nothing, each with its reason") {
    Harness harness;
    SleeperUnit unit;
    const std::string pid = unit.main_pid();
    struct Case {
        const char* what;
        std::string token;
        const char* reason;
    };
    const std::string app = systemd_app(unit.name());
    Case cases[] = {
        {"another agent", harness.token(app + " --sub agent-other"), "wrong_agent"},
        {"expired", harness.token(app + " --now " + std::to_string(time(nullptr) - 3600)),
         "expired"},
        {"unpinned key", harness.token(app + " --kid hub-9", other_key), "unknown_kid"},
        {"pinned kid, other key", harness.token(app, other_key), "bad_signature"},
        {"level 1", harness.token(app + " --lvl 1"), "insufficient_level"},
        {"no otp", harness.token(app + " --claims '{\"amr\":[\"pwd\"]}'"), "no_otp"},
        {"another app id",
         harness.token("--app-id app-2 --app-type systemd --identifier " + unit.name()),
         "app_mismatch"},
        {"alg none", harness.token(app + " --alg none"), "bad_alg"},
        {"injection",
         harness.token("--app-id app-1 --app-type systemd --identifier " +
                       shell_quote(unit.name() + "; touch /tmp/pwned")),
         "bad_identifier"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        ActionRun refused = harness.run_action("restart-app app-1", c.token);
        INFO(refused.raw);
        CHECK(refused.exit_code == 3);
        CHECK(refused.result["status"] == "rejected");
        CHECK(refused.result["reason"] == c.reason);
        CHECK(refused.result["exit_code"].is_null());
    }
    CHECK(unit.main_pid() == pid);
    CHECK_FALSE(fs::exists("/tmp/pwned"));
}

TEST_CASE("monsys-action: the local policy refuses without consuming the token") {
    Harness harness;
    SleeperUnit unit;
    const std::string pid = unit.main_pid();
    const std::string token = harness.token(systemd_app(unit.name()));

    harness.write_policy(R"({"allowed_types": ["docker"]})");
    ActionRun denied = harness.run_action("restart-app app-1", token);
    INFO(denied.raw);
    CHECK(denied.exit_code == 4);
    CHECK(denied.result["reason"] == "policy_denied");
    CHECK(unit.main_pid() == pid);

    // Once the policy allows it, the same token still works: the refusal did not burn it.
    fs::remove(harness.policy_path());
    ActionRun allowed = harness.run_action("restart-app app-1", token);
    INFO(allowed.raw);
    CHECK(allowed.exit_code == 0);
    CHECK(unit.main_pid() != pid);
}

TEST_CASE("monsys-action: a signed token restarts a real container") {
    Harness harness;
    const std::string name = unique_name("action-it");
    REQUIRE(run("podman run -d --network none --name " + name + " " + TestEnv::get().image() +
                " /bin/sleep 100000")
                .exit_code == 0);
    const std::string started = run_output("podman inspect -f '{{.State.StartedAt}}' " + name);

    ActionRun ran = harness.run_action(
        "restart-app web", harness.token("--app-id web --app-type docker --identifier " + name));
    INFO(ran.raw);
    CHECK(ran.exit_code == 0);
    CHECK(ran.result["status"] == "succeeded");
    CHECK(ran.result["after"]["Running"] == true);
    CHECK(ran.result["before"]["StartedAt"] != ran.result["after"]["StartedAt"]);
    CHECK(run_output("podman inspect -f '{{.State.StartedAt}}' " + name) != started);
    run("podman rm -f -t 0 " + name);
}

TEST_CASE(
    "monsys-action: a process app restarts through monsys-restart@ and outlives the wrapper") {
    Harness harness;
    ProcessRestartEnv env(harness.policy_path());
    harness.write_config({{"restart_result_dir", env.results_dir()}, {"restart_settle_ms", 500}});
    const std::string entry = env.entry("action");
    const std::string command = env.restart_command();
    env.write_policy({{entry, env.entry_json(command)}});
    const int old_pid = env.start_app();
    const std::string app = "--app-id proc --app-type process --identifier " + env.app_path() +
                            " --restart-command " + command;

    ActionRun ran = harness.run_action("restart-app proc", harness.token(app));

    INFO(ran.raw);
    CHECK(ran.exit_code == 0);
    CHECK(ran.result["status"] == "succeeded");
    CHECK(ran.result["exit_code"] == 0);
    const int new_pid = env.pid_from_file();
    CHECK(new_pid != old_pid);
    CHECK(ran.result["message"] == "restart command " + command + " exited 0; " + env.app_path() +
                                       " runs as pid " + std::to_string(new_pid) +
                                       " (before: pid " + std::to_string(old_pid) + ")");
    CHECK(ran.result["stdout"] ==
          "restarted: " + std::to_string(old_pid) + " -> " + std::to_string(new_pid) + "\n");
    CHECK(ran.result["before"]["app"]["processes"][0]["pid"] == old_pid);
    CHECK(ran.result["after"]["app"]["processes"][0]["pid"] == new_pid);
    CHECK(ran.result["after"]["user"] == "root");
    // monsys-action has exited; the app it had restarted still runs, in the unit's cgroup.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    CHECK(env.runs_app(new_pid));
    CHECK(ProcessRestartEnv::cgroup_of(new_pid).find(ProcessRestartEnv::unit(entry)) !=
          std::string::npos);
}

TEST_CASE("monsys-action: a process restart whose app does not come back is a failure") {
    Harness harness;
    ProcessRestartEnv env(harness.policy_path());
    harness.write_config({{"restart_result_dir", env.results_dir()}, {"restart_settle_ms", 500}});
    const std::string entry = env.entry("gone");
    const std::string command = env.command("stop.sh", "kill $(cat " + env.pid_file() + ")\n");
    env.write_policy({{entry, env.entry_json(command)}});
    env.start_app();

    ActionRun ran = harness.run_action(
        "restart-app proc", harness.token("--app-id proc --app-type process --identifier " +
                                          env.app_path() + " --restart-command " + command));

    INFO(ran.raw);
    CHECK(ran.exit_code == 1);
    CHECK(ran.result["status"] == "failed");
    CHECK(ran.result["exit_code"] == 0);
    CHECK(ran.result["message"] == "restart command " + command + " exited 0, but " +
                                       env.app_path() + " is not running 500 ms later");
}

TEST_CASE("monsys-action: without a policy entry a process restart is refused and nothing runs") {
    Harness harness;
    ProcessRestartEnv env(harness.policy_path());
    harness.write_config({{"restart_result_dir", env.results_dir()}});
    const std::string marker = env.file("ran");
    const std::string listed = env.command("listed.sh", "touch " + marker + "\n");
    const std::string other = env.command("other.sh", "touch " + marker + "\n");
    const std::string entry = env.entry("listed");
    env.write_policy({{entry, env.entry_json(listed)}});
    const std::string app = "--app-id proc --app-type process --identifier " + env.app_path() + " ";

    // A command the policy does not list for this app.
    ActionRun ran =
        harness.run_action("restart-app proc", harness.token(app + "--restart-command " + other));
    INFO(ran.raw);
    CHECK(ran.exit_code == 4);
    CHECK(ran.result["status"] == "rejected");
    CHECK(ran.result["reason"] == "policy_denied");
    const std::string message = ran.result["message"];
    CHECK(message.find(harness.policy_path()) != std::string::npos);
    CHECK(message.find("\"command\": \"" + other + "\"") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
    CHECK(run_output("systemctl --user show -p ActiveState --value " +
                     ProcessRestartEnv::unit(entry)) == "inactive");

    // No policy file at all: the same refusal.
    fs::remove(harness.policy_path());
    ActionRun none =
        harness.run_action("restart-app proc", harness.token(app + "--restart-command " + listed));
    CHECK(none.exit_code == 4);
    CHECK(none.result["reason"] == "policy_denied");
    CHECK_FALSE(std::filesystem::exists(marker));

    // A relative path never gets that far: the token itself is malformed.
    ActionRun relative =
        harness.run_action("restart-app proc", harness.token(app + "--restart-command listed.sh"));
    CHECK(relative.exit_code == 3);
    CHECK(relative.result["reason"] == "bad_restart_command");
}

TEST_CASE("monsys-action: an untrusted or broken configuration stops it with one clear line") {
    Harness harness;
    const std::string token = harness.token(systemd_app("nginx.service"));

    chmod(harness.config_path().c_str(), 0666);
    ActionRun untrusted = harness.run_action("restart-app app-1", token);
    INFO(untrusted.raw);
    CHECK(untrusted.exit_code == 2);
    CHECK(untrusted.result["status"] == "failed");
    CHECK(untrusted.result["reason"] == "usage");
    CHECK(untrusted.result["message"].get<std::string>().find("not trusted") != std::string::npos);

    harness.write_config(json::object({{"clock_skew_secs", "thirty"}}));
    // Only stderr is captured: run() adds 2>&1 after the parentheses.
    RunResult broken = run("(printf x | " + std::string(MONSYS_ACTION_BINARY) + " --config " +
                           harness.config_path() + " restart-app app-1 >/dev/null)");
    CHECK(broken.exit_code == 2);
    CHECK(broken.output.find("field 'clock_skew_secs': must be an integer") != std::string::npos);
    CHECK(std::count(broken.output.begin(), broken.output.end(), '\n') == 1);
}

TEST_CASE("monsys-action: verify prints the claims and consumes nothing") {
    Harness harness;
    SleeperUnit unit;
    const std::string token = harness.token(systemd_app(unit.name()));
    ActionRun verified = harness.run_action("verify --app-id app-1", token);
    INFO(verified.raw);
    CHECK(verified.exit_code == 0);
    CHECK(verified.result["valid"] == true);
    CHECK(verified.result["kid"] == "hub-1");
    CHECK(verified.result["claims"]["app"]["identifier"] == unit.name());

    const std::string pid = unit.main_pid();
    CHECK(harness.run_action("restart-app app-1", token).exit_code == 0);
    CHECK(unit.main_pid() != pid);
    ActionRun after = harness.run_action("verify", token);
    CHECK(after.exit_code == 3);
    CHECK(after.result["reason"] == "replayed");
}

TEST_CASE("monsys-action: --help and --version tell the truth") {
    RunResult help = run(std::string(MONSYS_ACTION_BINARY) + " --help");
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("restart-app") != std::string::npos);
    CHECK(help.output.find("verify") != std::string::npos);
    CHECK(help.output.find("3 token") != std::string::npos);
    RunResult version = run(std::string(MONSYS_ACTION_BINARY) + " --version");
    CHECK(version.exit_code == 0);
    CHECK(version.output.rfind("monsys-action 0.1.0+", 0) == 0);
    RunResult bad = run(std::string(MONSYS_ACTION_BINARY) + " restart-app 2>/dev/null");
    CHECK(bad.exit_code == 2);
}
