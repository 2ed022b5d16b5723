#pragma once
// What the daemon, `--once` and `check-config` share: the configuration loaded and checked for
// the hub link, the hub URL, the TLS context, this host's identity and where the agent keeps its
// state. Every error is one line that names the file or field and what to do.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "agent/actions/action_runner.hpp"
#include "agent/hub/hub_connection.hpp"
#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_choice.hpp"
#include "agent/inventory/settings.hpp"
#include "common/config/config.hpp"
#include "common/inventory/model.hpp"

namespace monsys::agent::daemon {

struct AgentPaths {
    std::filesystem::path hub_dir;               // <hub_state_dir>
    std::filesystem::path outbox_dir;            // <hub_state_dir>/outbox
    std::filesystem::path seq_file;              // <hub_state_dir>/seq
    std::filesystem::path tracked_apps_file;     // <hub_state_dir>/tracked-apps.json
    std::filesystem::path inflight_dir;          // <hub_state_dir>/inflight
    std::filesystem::path ledger_dir;            // <hub_state_dir>/ledger
    std::filesystem::path inventory_acked_file;  // <hub_state_dir>/inventory-acked-boot
};
AgentPaths agent_paths(const config::Config& config);

struct AgentSetup {
    std::filesystem::path config_path;
    config::Config config;
    hub::HubUrl url;
    // The proxy to the hub, if any, and why (hub_proxy or the environment).
    hub::ProxyChoice proxy;
    std::shared_ptr<asio::ssl::context> tls;        // null for ws://
    std::shared_ptr<asio::ssl::context> proxy_tls;  // for an https:// proxy only
    AgentPaths paths;
    inventory::HostInfo host;
    inventory::InventorySettings inventory_settings;
};

// Loads the configuration (the default path when none is given) and checks what the hub link
// needs: agent_id, issuer and hub_keys, hub_url, the proxy, loadable CA files. The agent token
// is not read here (connect_options reads it for every attempt).
Expected<AgentSetup, std::string> prepare_agent(const std::optional<std::string>& config_path);

// Creates <hub_state_dir> and its subdirectories (mode 0700) if missing.
Expected<void, std::string> prepare_state_dirs(const AgentPaths& paths);

// Whether the hub has acked an inventory since this boot, and recording that it has (the daemon
// and --once share the record, so a daemon started after --once does not send it again).
bool inventory_acked_this_boot(const AgentSetup& setup);
Expected<void, std::string> record_inventory_acked(const AgentSetup& setup);

// Reads the agent token and fills in everything a connection attempt needs.
Expected<hub::ConnectOptions, std::string> connect_options(const AgentSetup& setup);

// How actions are checked and handed to monsys-action.
actions::ActionSettings action_settings_from(const config::Config& config);

}  // namespace monsys::agent::daemon
