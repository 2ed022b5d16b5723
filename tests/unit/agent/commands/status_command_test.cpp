// `monsys-agent status` end to end in process: a config naming a status file and a state
// directory in a temp dir, snapshots written as the daemon writes them, /proc for liveness.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "../temp_dir.hpp"
#include "agent/commands/status_command.hpp"
#include "agent/status/status_file.hpp"
#include "common/util/time_format.hpp"

using namespace monsys;
using namespace monsys::agent;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

const status::Time t0 = *parse_utc_millis("2026-11-29T04:00:00.000Z");

struct Setup {
    Setup() {
        config = dir.path() / "agent.json";
        status_file = dir.path() / "run" / "status.json";
        hub_dir = dir.path() / "hub";
        std::ofstream(config) << Json{
            {"status_file", status_file.string()},
            {"hub_state_dir",
             hub_dir.string()}}.dump();
    }

    int run(std::vector<std::string> flags = {}) {
        commands::StatusOptions options;
        options.config_path = config.string();
        options.now = []() { return t0; };
        for (const auto& flag : flags) {
            if (flag == "--json") options.json = true;
            if (flag.rfind("--max-disconnected=", 0) == 0) {
                options.max_disconnected_secs = std::stoll(flag.substr(19));
            }
        }
        out.str("");
        err.str("");
        return commands::run_status(options, out, err);
    }

    status::Snapshot snapshot(status::ProcessIdentity process, status::Time written, bool connected,
                              status::Time since) const {
        status::Snapshot s;
        s.process = process;
        s.version = "9.9.9";
        s.started_at = t0 - 3600s;
        s.written_at = written;
        s.hub = {"wss://hub.test/agent", connected, since, connected ? "" : "connection refused"};
        s.last_acked_seq = 12;
        s.apps.push_back({"app-1", "systemd", "running", "active (running)", t0 - 60s});
        return s;
    }

    // As the daemon writes it: the file's modification time is the snapshot's written_at.
    void write(const status::Snapshot& s) {
        REQUIRE(status::write_status_file(status_file, status::to_json(s).dump()));
        touch(s.written_at);
    }

    // As the daemon's heartbeat confirms an unchanged snapshot (at `when` on the test's clock).
    void touch(status::Time when) {
        const auto since_epoch = when.time_since_epoch();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const timespec times[2] = {
            {secs.count(), static_cast<long>(std::chrono::nanoseconds(since_epoch - secs).count())},
            {secs.count(), static_cast<long>(std::chrono::nanoseconds(since_epoch - secs).count())}};
        REQUIRE(::utimensat(AT_FDCWD, status_file.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
    }

    agent::test::TempDir dir;
    std::filesystem::path config, status_file, hub_dir;
    std::ostringstream out, err;
};

status::ProcessIdentity dead_process() {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    int ignored = 0;
    REQUIRE(::waitpid(child, &ignored, 0) == child);
    return {child, 1};
}

}  // namespace

TEST_CASE("status command: a live, connected daemon is healthy (0), as a table and as JSON") {
    Setup setup;
    setup.write(setup.snapshot(status::own_process_identity(), t0 - 2s, true, t0 - 600s));
    CHECK(setup.run() == 0);
    const std::string table = setup.out.str();
    CHECK(table.find("Status:       running; connected to the hub for 10 min (exit 0)") !=
          std::string::npos);
    CHECK(table.find("app-1") != std::string::npos);
    CHECK(setup.err.str().empty());

    CHECK(setup.run({"--json"}) == 0);
    auto json = Json::parse(setup.out.str());
    CHECK(json["verdict"]["exit_code"] == 0);
    CHECK(json["verdict"]["daemon"] == "running");
    CHECK(json["snapshot"]["pid"] == ::getpid());
    CHECK(json["snapshot"]["apps"][0]["state"] == "running");
}

TEST_CASE("status command: disconnected longer than --max-disconnected is 3") {
    Setup setup;
    setup.write(setup.snapshot(status::own_process_identity(), t0 - 1s, false, t0 - 120s));
    CHECK(setup.run() == 0);  // the default 300 s
    CHECK(setup.run({"--max-disconnected=60"}) == 3);
    CHECK(setup.out.str().find("connection refused") != std::string::npos);
}

TEST_CASE("status command: a live daemon whose snapshot stopped changing is stale (4)") {
    Setup setup;
    setup.write(setup.snapshot(status::own_process_identity(), t0 - 45s, true, t0 - 600s));
    CHECK(setup.run() == 4);
    CHECK(setup.out.str().find("looks hung") != std::string::npos);
}

TEST_CASE("status command: a snapshot confirmed by the heartbeat's touch is not stale") {
    Setup setup;
    setup.write(setup.snapshot(status::own_process_identity(), t0 - 45s, true, t0 - 600s));
    setup.touch(t0 - 2s);  // unchanged, and the daemon said so 2 s ago
    CHECK(setup.run() == 0);
    CHECK(setup.out.str().find("Snapshot:     updated 2 s ago") != std::string::npos);
    CHECK(setup.run({"--json"}) == 0);
    CHECK(Json::parse(setup.out.str())["snapshot"]["written_at"] == "2026-11-29T03:59:58.000Z");

    // A touch older than the snapshot's own time does not make it older.
    setup.touch(t0 - 100s);
    CHECK(setup.run() == 4);
    CHECK(setup.out.str().find("has not updated its status for 45 s") != std::string::npos);
}

TEST_CASE("status command: no snapshot is not running (1), with the outbox from the state dir") {
    Setup setup;
    std::filesystem::create_directories(setup.hub_dir / "outbox");
    for (const char* name :
         {"00000000000000000004.action_result.json", "00000000000000000005.action_result.json",
          "00000000000000000006.state.json", "not-a-message.json"}) {
        std::ofstream(setup.hub_dir / "outbox" / name) << "{}";
    }
    std::ofstream(setup.hub_dir / "seq") << "00000000000000000007 00000000000000000003\n";
    std::ofstream(setup.hub_dir / "tracked-apps.json")
        << R"({"apps":[{"id":"app-9","name":"db","app_type":"docker","identifier":"db",)"
           R"("expected_state":"running"}],"states":{}})";

    CHECK(setup.run() == 1);
    const std::string text = setup.out.str();
    INFO(text);
    CHECK(text.find("the daemon is not running (no status snapshot at " +
                    setup.status_file.string() + ")") != std::string::npos);
    CHECK(text.find("3 pending (inventory 0, state 1, action_result 2)") != std::string::npos);
    CHECK(text.find("Last acked:   seq 3") != std::string::npos);
    CHECK(text.find("Last sent:    seq 6") != std::string::npos);

    CHECK(setup.run({"--json"}) == 1);
    auto json = Json::parse(setup.out.str());
    CHECK(json["verdict"]["daemon"] == "not running");
    CHECK(json["snapshot"].is_null());
    CHECK(json["state_dir"]["outbox"]["action_result"]["count"] == 2);
    CHECK(json["state_dir"]["last_acked_seq"] == 3);
}

TEST_CASE("status command: a snapshot left by a dead daemon is not running (1)") {
    Setup setup;
    setup.write(setup.snapshot(dead_process(), t0 - 1s, true, t0 - 600s));
    CHECK(setup.run() == 1);
    CHECK(setup.out.str().find("is gone") != std::string::npos);
    CHECK(setup.run({"--json"}) == 1);
    auto json = Json::parse(setup.out.str());
    CHECK(json["last_snapshot"]["version"] == "9.9.9");
}

TEST_CASE("status command: an unreadable config or snapshot is 2, said on stderr") {
    Setup setup;
    commands::StatusOptions options;
    options.config_path = (setup.dir.path() / "missing.json").string();
    std::ostringstream out, err;
    CHECK(commands::run_status(options, out, err) == 2);
    CHECK(err.str().find("missing.json") != std::string::npos);

    std::filesystem::create_directories(setup.status_file.parent_path());
    std::ofstream(setup.status_file) << "{\"format\":1}";
    CHECK(setup.run() == 2);
    CHECK(setup.err.str().find("status snapshot") != std::string::npos);
}
