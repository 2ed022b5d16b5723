#pragma once
// The messages of monsys.agent.v1 (docs/protocol.md): decoding what the hub sends, and building
// what the agent sends. Pure: no sockets, no clock (times are passed in).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/app/app.hpp"
#include "common/inventory/model.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

inline constexpr std::string_view subprotocol = "monsys.agent.v1";
inline constexpr std::size_t max_hub_frame_bytes = 1 << 20;
inline constexpr std::size_t max_tracked_apps = 1000;

struct TrackedApp {
    std::string id;
    std::string name;
    app::AppType type = app::AppType::systemd;
    std::string identifier;
    std::string expected_state;  // "running" or "stopped" as the hub sent it
    std::optional<std::string> restart_command;
};

struct IntervalOverrides {
    std::optional<std::int64_t> state_interval_secs;
    std::optional<std::int64_t> inventory_interval_secs;
};

// hub -> agent
struct Welcome {
    std::string server_time;
    std::vector<TrackedApp> apps;
    IntervalOverrides intervals;
    std::vector<std::string> dropped_apps;  // one reason per malformed app entry that was left out
};
struct AppsUpdate {
    std::vector<TrackedApp> apps;
    std::vector<std::string> dropped_apps;
};
struct ActionRequest {
    std::string eat;
};
struct CollectRequest {};
struct Ack {
    std::uint64_t seq = 0;
};
struct HubError {
    std::string code;
    std::string message;
};
struct UnknownMessage {
    std::string type;
};
using HubMessage =
    std::variant<Welcome, AppsUpdate, ActionRequest, CollectRequest, Ack, HubError, UnknownMessage>;

// Decodes one text frame. The error is one line naming the problem ("invalid JSON: ...",
// "ack: seq must be a positive integer"), for the log. Caps: max_hub_frame_bytes, depth 32,
// duplicate member names refused, at most max_tracked_apps apps, strings in app entries capped.
Expected<HubMessage, std::string> decode_hub_message(std::string_view frame);

// Tracked apps as stored on disk and sent in welcome/apps (same shape both ways).
nlohmann::json to_json(const TrackedApp& app);
// One app entry; the error says which field is wrong.
Expected<TrackedApp, std::string> tracked_app_from_json(const nlohmann::json& entry);

// agent -> hub

// What the bounded outbox had to drop since the agent process started (docs/protocol.md,
// "The outbox"), so the hub learns of it on the next hello.
struct OutboxDrops {
    std::uint64_t results_evicted = 0;
    std::uint64_t refusals_evicted = 0;
    std::uint64_t refusals_suppressed = 0;
    std::uint64_t action_frames_dropped = 0;
};

struct HelloFields {
    std::string agent_id;
    std::string version;
    std::string hostname;
    std::string boot_id;
    std::vector<std::string> tags;
    std::uint64_t last_acked_seq = 0;
    // monsys-action's public key document (results::read_action_public_key): kid, jwk and the
    // rotation statements. None (JSON null in hello) when the agent could not read it.
    std::optional<nlohmann::json> action_key;
    OutboxDrops dropped;
};
std::string encode_hello(const HelloFields& hello);

struct AppStateReport {
    std::string id;
    inventory::AppState observed = inventory::AppState::unknown;
    std::string detail;
    std::chrono::system_clock::time_point changed_at;
};

// Data messages are built as JSON objects without "seq"; the outbox stamps the seq.
nlohmann::json make_inventory_message(const nlohmann::json& inventory,
                                      std::chrono::system_clock::time_point collected_at);
nlohmann::json make_state_message(const std::vector<AppStateReport>& apps,
                                  std::chrono::system_clock::time_point observed_at);
// reported_by: "monsys-action", "agent" or "agent-recovery". `result_jws` is the JWS monsys-action
// printed with its result (docs/protocol.md, "Result signatures"), relayed unchanged; results the
// agent builds itself have none, and then the member is absent.
nlohmann::json make_action_result_message(std::string_view jti, std::string_view reported_by,
                                          nlohmann::json result,
                                          std::optional<std::string> result_jws = std::nullopt);

}  // namespace monsys::agent::hub
