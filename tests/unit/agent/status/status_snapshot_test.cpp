#include <doctest/doctest.h>

#include "agent/status/status_snapshot.hpp"
#include "common/util/time_format.hpp"

using namespace monsys;
using namespace monsys::agent::status;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

Time at(const char* text) {
    auto time = parse_utc_millis(text);
    REQUIRE(time);
    return *time;
}

Snapshot sample() {
    Snapshot snapshot;
    snapshot.process = {4242, 987654};
    snapshot.version = "1.2.3";
    snapshot.started_at = at("2026-11-29T01:00:00.000Z");
    snapshot.written_at = at("2026-11-29T02:00:00.500Z");
    snapshot.heartbeat_secs = 10;
    snapshot.hub = {"wss://hub.example/agent", true, at("2026-11-29T01:00:01.000Z"),
                    "hub connection lost: end of stream"};
    snapshot.last_acked_seq = 41;
    snapshot.outbox["inventory"] = {};
    snapshot.outbox["state"] = {1, at("2026-11-29T01:59:58.000Z")};
    snapshot.outbox["action_result"] = {2, at("2026-11-29T01:58:00.000Z")};
    snapshot.apps.push_back(
        {"app-1", "systemd", "running", "active (running)", at("2026-11-29T01:00:02.000Z")});
    snapshot.actions.push_back(
        {"jti-1", "app-1", "ok", "monsys-action", at("2026-11-29T01:30:00.000Z")});
    snapshot.inventory.last_sent_at = at("2026-11-29T01:00:05.000Z");
    snapshot.inventory.section_errors["docker"] = "cannot connect to /var/run/docker.sock";
    return snapshot;
}

}  // namespace

TEST_CASE("status snapshot: what the daemon writes reads back the same") {
    const Snapshot written = sample();
    const std::string text = to_json(written).dump();
    auto read = parse_snapshot(text);
    REQUIRE_MESSAGE(read, (read ? "" : read.error()));
    CHECK(to_json(*read) == to_json(written));
    CHECK(read->process.pid == 4242);
    CHECK(read->process.start_ticks == 987654);
    CHECK(read->hub.connected);
    CHECK(read->outbox.at("action_result").count == 2);
    CHECK(read->outbox.at("inventory").oldest_at == std::nullopt);
    REQUIRE(read->apps.size() == 1);
    CHECK(read->apps[0].detail == "active (running)");
    REQUIRE(read->actions.size() == 1);
    CHECK(read->actions[0].reported_by == "monsys-action");
    CHECK(read->inventory.section_errors.at("docker").find("docker.sock") != std::string::npos);
}

TEST_CASE("status snapshot: every outbox kind is written, zero or not; no secret member exists") {
    Snapshot empty = sample();
    empty.outbox.clear();
    const Json json = to_json(empty);
    for (const char* kind : {"inventory", "state", "action_result"}) {
        CHECK(json["outbox"][kind]["count"] == 0);
        CHECK(json["outbox"][kind]["oldest_at"].is_null());
    }
    const std::string text = json.dump();
    CHECK(text.find("token") == std::string::npos);
    CHECK(text.find("proxy") == std::string::npos);
}

TEST_CASE("status snapshot: a reader refuses what the daemon did not write, naming the member") {
    const Json good = to_json(sample());
    auto refused = [](const Json& json) {
        auto read = parse_snapshot(json.dump());
        REQUIRE_FALSE(read);
        return read.error();
    };
    CHECK(parse_snapshot("not json").error().find("not valid JSON") != std::string::npos);
    CHECK(parse_snapshot(std::string(max_snapshot_bytes + 1, ' ')).error().find("JSON") !=
          std::string::npos);

    Json other_format = good;
    other_format["format"] = 2;
    CHECK(refused(other_format).find("format 2") != std::string::npos);

    Json no_pid = good;
    no_pid.erase("pid");
    CHECK(refused(no_pid).find("snapshot.pid is missing") != std::string::npos);

    Json negative_pid = good;
    negative_pid["pid"] = -1;
    CHECK(refused(negative_pid).find("not positive") != std::string::npos);

    Json bad_time = good;
    bad_time["hub"]["since"] = "yesterday";
    CHECK(refused(bad_time).find("hub.since is not a time") != std::string::npos);

    Json bad_app = good;
    bad_app["apps"][0]["state"] = 3;
    CHECK(refused(bad_app).find("apps[0].state is not a string") != std::string::npos);

    Json bad_count = good;
    bad_count["outbox"]["state"]["count"] = -4;
    CHECK(refused(bad_count).find("outbox.state.count is negative") != std::string::npos);

    Json bad_errors = good;
    bad_errors["inventory"]["section_errors"]["docker"] = 1;
    CHECK(refused(bad_errors).find("section_errors") != std::string::npos);

    Json deep = good;
    deep["apps"][0]["detail"] = Json::parse(R"([[[[[[[[1]]]]]]]])");
    CHECK(refused(deep).find("JSON") != std::string::npos);
}
