#pragma once
// The configuration file shared by monsys-agent and monsys-action (docs/configuration.md).
// A flat JSON object; comments are allowed; an unknown field is an error, so typos are caught.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/build_info.hpp"
#include "common/eat/keys.hpp"
#include "common/util/expected.hpp"

namespace monsys::config {

enum class BusKind { system, user };
const char* to_string(BusKind kind);

struct Config {
    // Identity and trust.
    std::string agent_id;
    std::string issuer;
    std::map<std::string, eat::PublicKey> hub_keys;  // kid -> Ed25519 public key
    std::int64_t clock_skew_secs = 30;
    std::int64_t max_token_lifetime_secs = 300;

    // Where the apps live.
    BusKind systemd_bus = BusKind::system;
    std::string docker_socket = "/var/run/docker.sock";
    std::int64_t source_timeout_secs = 5;  // any one D-Bus call or Docker request

    // monsys-action. The defaults are the packaged layout (docs/security.md, "Files").
    std::filesystem::path state_dir = build_info::default_state_dir;  // the replay store's dir
    std::int64_t restart_timeout_secs = 120;
    std::int64_t output_cap_bytes = 64 * 1024;
    std::vector<std::string> action_command = {build_info::default_action_path};
    // The agent reaches monsys-action through this socket (monsys-action.socket). Empty (the
    // config's "") turns it off: the agent then runs action_command itself.
    std::filesystem::path action_socket = build_info::default_action_socket;
    // Where monsys-restart@.service leaves the result of a process restart.
    std::filesystem::path restart_result_dir = build_info::default_restart_result_dir;
    // After a process app's restart command exited 0, how long before the app must run anew.
    std::int64_t restart_settle_ms = 2000;

    // The hub link.
    std::string hub_url;
    std::filesystem::path hub_token_file = "/etc/monsys/agent.token";
    std::filesystem::path hub_ca_file;   // empty: the system CAs
    bool hub_allow_insecure_ws = false;  // ws:// to a host that is not loopback
    // The HTTP proxy to the hub (docs/configuration.md, "Proxy"): unset, the environment's
    // https_proxy / no_proxy (http_proxy for ws://) apply; "" means no proxy whatever the
    // environment says; otherwise http[s]://[user:pass@]host:port, checked by agent/hub/proxy_url.
    std::optional<std::string> hub_proxy;
    // A CA bundle for an https:// proxy's certificate (from hub_proxy or the environment);
    // empty: the system CAs.
    std::filesystem::path hub_proxy_ca_file;
    // The agent's own state (outbox, sequence, tracked apps); not under state_dir.
    std::filesystem::path hub_state_dir = build_info::default_hub_state_dir;
    // Where the daemon keeps its status snapshot for `monsys-agent status` (docs/status.md).
    std::filesystem::path status_file = "/run/monsys-agent/status.json";
    std::int64_t observe_interval_secs = 15;
    // Event-driven observation (docs/inventory.md, "The event path"): systemd signals, the
    // engine's /events stream and pidfds. false: the agent observes in rounds only.
    bool observe_events = true;
    // The engine's /events stream alone (podman keeps a process busy for an open stream).
    bool docker_events = true;
    std::int64_t state_interval_secs = 60;
    std::int64_t inventory_interval_secs = 21600;
    std::vector<std::string> tags;
};

// Parses the text of a configuration file. The error is one line naming the field.
Expected<Config, std::string> parse_config(std::string_view text);

// Reads and parses a file (at most 1 MiB). The error is one line naming the path and the field.
Expected<Config, std::string> load_config(const std::filesystem::path& path);

// That the fields monsys-action cannot work without (agent_id, issuer, hub_keys) are set; the
// error is one line naming the first one missing.
Expected<void, std::string> check_fields_for_actions(const Config& config);

// The replay store's file under the state directory.
std::filesystem::path replay_store_path(const Config& config);

}  // namespace monsys::config
