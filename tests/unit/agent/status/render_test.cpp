#include <doctest/doctest.h>

#include "agent/status/render.hpp"
#include "common/util/time_format.hpp"

using namespace monsys;
using namespace monsys::agent::status;
using namespace std::chrono_literals;

namespace {

Time at(const char* text) {
    auto time = parse_utc_millis(text);
    REQUIRE(time);
    return *time;
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("status table: the daemon, the link, the outbox, the apps and the last actions") {
    Snapshot snapshot;
    snapshot.process = {4242, 1};
    snapshot.version = "1.2.3";
    snapshot.started_at = at("2026-11-29T01:00:00.000Z");
    snapshot.written_at = at("2026-11-29T03:00:00.000Z");
    snapshot.hub = {"wss://hub.example/agent", true, at("2026-11-29T02:00:00.000Z"), ""};
    snapshot.last_acked_seq = 41;
    snapshot.outbox["state"] = {1, at("2026-11-29T02:59:58.000Z")};
    snapshot.outbox["action_result"] = {2, at("2026-11-29T02:58:00.000Z")};
    snapshot.apps.push_back(
        {"app-1", "systemd", "running", "active (running)", at("2026-11-29T02:00:02.000Z")});
    snapshot.apps.push_back({"app-22", "docker", "stopped", "exited (1)\x1b]0;owned\x07",
                             at("2026-11-29T02:30:00.000Z")});
    snapshot.actions.push_back(
        {"jti-old", "app-1", "ok", "monsys-action", at("2026-11-29T02:10:00.000Z")});
    snapshot.actions.push_back(
        {"jti-new", "app-22", "failed", "agent-recovery", at("2026-11-29T02:20:00.000Z")});
    snapshot.inventory.section_errors["docker"] = "cannot connect";
    const Verdict verdict{0, "running; connected to the hub for 1 h"};

    const std::string text = render_snapshot(snapshot, verdict, at("2026-11-29T03:00:02.000Z"));
    CHECK(has(text, "Status:       running; connected to the hub for 1 h (exit 0)\n"));
    CHECK(has(text, "monsys-agent 1.2.3, pid 4242, up 2 h (since 2026-11-29T01:00:00.000Z)"));
    CHECK(has(text, "Snapshot:     updated 2 s ago\n"));
    CHECK(has(text, "Hub:          wss://hub.example/agent\n"));
    CHECK(has(text, "Connection:   connected since 2026-11-29T02:00:00.000Z (1 h ago)\n"));
    CHECK_FALSE(has(text, "Last error:"));
    CHECK(has(text, "Last acked:   seq 41\n"));
    CHECK(has(text,
              "Outbox:       3 pending (inventory 0, state 1, action_result 2); oldest stored "
              "2 min 2 s ago\n"));
    CHECK(has(text, "Inventory:    none sent since the daemon started\n"));
    CHECK(has(text, "  section docker: cannot connect\n"));
    CHECK(has(text, "Tracked apps: 2\n"));
    // Aligned columns: the header and each row start their cells at the same offsets.
    CHECK(has(text, "  ID      TYPE     STATE    CHANGED"));
    CHECK(has(text, "  app-1   systemd  running  2026-11-29T02:00:02.000Z (1 h ago)"));
    // Text from outside is escaped: no escape sequence reaches the terminal.
    CHECK(has(text, "exited (1)\\x1b]0;owned\\x07"));
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    // Newest action first.
    CHECK(has(text, "Last actions: 2\n"));
    CHECK(text.find("jti-new") < text.find("jti-old"));
    CHECK(has(text, "agent-recovery"));
}

TEST_CASE("status table: a disconnected link shows its last error") {
    Snapshot snapshot;
    snapshot.process = {1, 1};
    snapshot.started_at = snapshot.written_at = at("2026-11-29T01:00:00.000Z");
    snapshot.hub = {"wss://hub/", false, at("2026-11-29T01:00:00.000Z"), "connection refused"};
    const std::string text =
        render_snapshot(snapshot, {3, "disconnected"}, at("2026-11-29T01:10:00.000Z"));
    CHECK(has(text, "Connection:   disconnected since 2026-11-29T01:00:00.000Z (10 min ago)"));
    CHECK(has(text, "Last error:   connection refused\n"));
    CHECK(has(text, "Tracked apps: 0\n"));
    CHECK(has(text, "Last actions: 0\n"));
}

TEST_CASE("status table: not running, from the state directory") {
    OfflineView view;
    view.outbox["inventory"] = {};
    view.outbox["state"] = {};
    view.outbox["action_result"] = {3, at("2026-11-29T00:00:00.000Z")};
    view.last_acked_seq = 7;
    view.last_sent_seq = 10;
    view.apps.push_back({"app-1", "process", "running", "pid 12", at("2026-11-28T23:00:00.000Z")});
    view.problems.push_back("cannot list /x: Permission denied");
    const std::string text =
        render_offline(view, {1, "the daemon is not running (no status snapshot at /run/x)"},
                       at("2026-11-29T01:00:00.000Z"));
    CHECK(has(text,
              "Status:       the daemon is not running (no status snapshot at /run/x) "
              "(exit 1)\n"));
    CHECK(has(text,
              "Outbox:       3 pending (inventory 0, state 0, action_result 3); oldest "
              "stored 1 h ago\n"));
    CHECK(has(text, "Last acked:   seq 7\n"));
    CHECK(has(text, "Last sent:    seq 10\n"));
    CHECK(has(text, "Tracked apps: 1 (states as the daemon last remembered them)\n"));
    CHECK(has(text, "note: cannot list /x: Permission denied\n"));
}
